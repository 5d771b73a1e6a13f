using DiskImage.IO;

namespace DiskImage.Formats.Vpc;

/// <summary>Writes a new VHD laid out as qemu-img lays it out.</summary>
internal static class VpcCreator
{
    private const string TooLarge = "The image size is too large for file format 'vpc'";

    public static void Create(string path, VpcCreateOptions options)
    {
        if (options.BackingFile is not null)
        {
            throw new InvalidOptionException("Backing file not supported for file format 'vpc'");
        }

        var requested = options.Size ?? throw new InvalidOptionException("Image creation needs a size parameter");
        if (requested < 0)
        {
            throw new InvalidOptionException("Image size must be non-negative");
        }

        var (geometry, size) = Dimensions(requested, options.ForceSize);
        var footer = new VpcFooter
        {
            DataOffset = options.Fixed ? ulong.MaxValue : VpcFooter.Size,
            Timestamp = (uint)(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - VpcFooter.TimestampBase),
            // "qem2" tells readers (QEMU among them) to take the footer's size rather than the geometry's.
            CreatorApp = options.ForceSize ? "qem2" : "qemu",
            OriginalSize = (ulong)size,
            CurrentSize = (ulong)size,
            Geometry = geometry,
            DiskType = options.Fixed ? VpcFooter.TypeFixed : VpcFooter.TypeDynamic,
            Uuid = Guid.NewGuid(),
        };

        using var created = NewImageFile.Create(path);
        var file = created.File;
        if (options.Fixed)
        {
            file.SetLength(size + VpcFooter.Size);
            file.Write(size, footer.ToBytes());
        }
        else
        {
            created.Guard("Unable to create or write VHD header", withErrno: false, () => WriteDynamic(file, footer, size));
        }

        file.Flush();
    }

    /// <summary>
    /// The geometry and the size the image gets: qemu-img rounds the size up to whole sectors, then up to the
    /// smallest CHS geometry covering it, unless <c>force_size</c> keeps it (marking the geometry as the maximum
    /// so readers use the footer's size) or the geometry is already the largest possible.
    /// </summary>
    internal static (VpcGeometry Geometry, long Size) Dimensions(long requested, bool forceSize)
    {
        var sectors = requested > long.MaxValue - 511 ? long.MaxValue / 512 : (requested + 511) / 512;
        var geometry = forceSize ? VpcGeometry.Max : VpcGeometry.Covering(sectors);
        if (geometry.TotalSectors != VpcGeometry.MaxGeometrySectors)
        {
            return (geometry, geometry.TotalSectors * 512);
        }

        if (sectors > VpcGeometry.MaxSectors)
        {
            throw new InvalidOptionException(TooLarge);
        }

        return (geometry, sectors * 512);
    }

    /// <summary>Footer, dynamic header, an empty table of 2 MiB blocks, and the footer again at the end.</summary>
    private static void WriteDynamic(IStorage file, VpcFooter footer, long size)
    {
        const long tableOffset = 3 * 512;
        var blockSize = VpcDynamicHeader.DefaultBlockSize;
        var entries = (uint)((size + blockSize - 1) / blockSize);
        var tableBytes = VpcImage.AlignUp(entries * 4L);
        var footerBytes = footer.ToBytes();
        file.Write(0, footerBytes);
        var header = new VpcDynamicHeader { TableOffset = tableOffset, MaxTableEntries = entries, BlockSize = blockSize };
        file.Write(VpcFooter.Size, header.ToBytes());
        var table = new byte[(int)Math.Min(tableBytes, 1 << 20)];
        table.AsSpan().Fill(0xFF);
        for (long done = 0; done < tableBytes; done += table.Length)
        {
            file.Write(tableOffset + done, table.AsSpan(0, (int)Math.Min(table.Length, tableBytes - done)));
        }

        file.Write(tableOffset + tableBytes, footerBytes);
    }
}
