using DiskImage.IO;
using DiskImage.Options;

namespace DiskImage.Formats.Parallels;

/// <summary>The Parallels expandable disk format (QEMU's <c>parallels</c> driver): one BAT, no backing file name.</summary>
public sealed class ParallelsFormat : IImageFormat
{
    /// <summary>QEMU's bound on the image size: at most 2^32 clusters.</summary>
    private const long MaxClusters = 1L << 32;

    /// <summary>The one instance; formats hold no state.</summary>
    public static ParallelsFormat Instance { get; } = new();

    private ParallelsFormat() { }

    /// <inheritdoc/>
    public string Name => "parallels";

    /// <inheritdoc/>
    public int ProbeHeaderSize => ParallelsHeader.Size;

    /// <inheritdoc/>
    public bool CanCreate => true;

    /// <summary>The header has no backing file name; qemu-img refuses <c>-b</c>.</summary>
    public bool SupportsBackingFiles => false;

    /// <inheritdoc/>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) => ParallelsHeader.Probe(header) ? 100 : 0;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options) => ParallelsImage.Open(path, options);

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new ParallelsCreateOptions { Size = size };
        foreach (var (key, value) in options)
        {
            result = key switch
            {
                "size" when size is not null => throw new InvalidOptionException("The image size must be specified only once"),
                "size" => result with { Size = SizeText.ParseOption(key, value) },
                "cluster_size" => result with { ClusterSize = SizeText.ParseOption(key, value) },
                // The file protocol's options: they shape the host file, which the format then writes from the start.
                "nocow" or "extent_size_hint" or "preallocation" => result,
                _ => throw new InvalidOptionException($"Invalid parameter '{key}'"),
            };
        }

        return result;
    }

    /// <summary>
    /// The header in the first sector and zeroes up to the data area, which starts at the first cluster boundary
    /// past the BAT (computed in QEMU's 32-bit arithmetic, wraps included, so the file is byte for byte qemu-img's).
    /// As qemu-img, the host file is created empty before the sizes are judged.
    /// </summary>
    public void Create(string path, ImageCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var prl = options as ParallelsCreateOptions ?? new ParallelsCreateOptions { Size = options.Size };

        // qemu-img rounds both sizes up to whole sectors without a word.
        var total = RoundUpToSector(prl.Size ?? 0);
        var clusterSize = RoundUpToSector(prl.ClusterSize);
        using var created = NewImageFile.Create(path);
        var file = created.File;
        file.SetLength(0);
        if (clusterSize >= long.MaxValue / MaxClusters)
        {
            throw new DriverOptionException("Cluster size is too large");
        }

        if (total >= MaxClusters * clusterSize)
        {
            throw new DriverOptionException("Image size is too large for this cluster size");
        }

        var batEntries = (uint)((total + clusterSize - 1) / clusterSize);
        var batClusters = (uint)((ParallelsHeader.BatEntryOffset(batEntries) + (ulong)clusterSize - 1) / (ulong)clusterSize);
        var dataOffset = unchecked((uint)((batClusters * clusterSize) >> 9));
        var header = new ParallelsHeader
        {
            ClusterUnits = true,
            Version = ParallelsHeader.Version2,
            HeadCount = ParallelsHeader.Heads,
            Cylinders = unchecked((uint)(total / ParallelsHeader.SectorSize / ParallelsHeader.Heads / ParallelsHeader.SectorsPerCylinder)),
            Tracks = (uint)(clusterSize >> 9),
            BatEntries = batEntries,
            Sectors = (ulong)total / ParallelsHeader.SectorSize,
            DataOffset = dataOffset,
        };
        var first = new byte[ParallelsHeader.Size];
        header.WriteTo(first);

        // The zeroes after the header sector: (data offset - 1) sectors in 32-bit arithmetic, as QEMU.
        var zeroes = (long)unchecked((dataOffset - 1) << 9);
        created.Guard("Failed to create Parallels image", withErrno: true, () =>
        {
            file.SetLength(Math.Max(ParallelsHeader.SectorSize, ParallelsHeader.SectorSize + zeroes));
            file.Write(0, first);
            file.WriteZeroes(ParallelsHeader.SectorSize, zeroes, mayUnmap: false);
            file.Flush();
        });
    }

    private static long RoundUpToSector(long value) => (value + ParallelsHeader.SectorSize - 1) & ~(long)(ParallelsHeader.SectorSize - 1);
}
