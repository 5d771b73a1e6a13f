using DiskImage.IO;

namespace DiskImage.Formats.Bochs;

/// <summary>
/// An open Bochs growing image. The catalog maps each extent of the guest disk to a slot of the data area (or marks it
/// unallocated); each slot is a bitmap of the extent's sectors followed by the sectors, and a sector whose bit is
/// clear reads as zeroes like an unallocated extent. Read only. As QEMU's driver has no block status, the whole
/// disk is reported as data.
/// </summary>
public sealed class BochsImage : IDiskImage
{
    private const int EIO = 5;

    /// <summary>QEMU's block layer refuses any access past this file offset (2^63 rounded down to 1 GiB).</summary>
    private const ulong MaxFileOffset = 0x7FFFFFFFC0000000;

    private readonly IStorage _file;
    private readonly ImageOpenOptions _options;
    private readonly BochsHeader _header;
    private readonly uint[] _catalog;

    private BochsImage(IStorage file, ImageOpenOptions options, BochsHeader header, uint[] catalog)
    {
        _file = file;
        _options = options;
        _header = header;
        _catalog = catalog;
    }

    /// <inheritdoc/>
    public IImageFormat Format => BochsFormat.Instance;

    /// <inheritdoc/>
    public string FilePath => _file.Path;

    /// <inheritdoc/>
    public IDiskImage? Backing => null;

    /// <inheritdoc/>
    public long Length => _header.Sectors * BochsHeader.SectorSize;

    /// <inheritdoc/>
    public bool CanWrite => false;

    /// <summary>Opens an image read-only: QEMU's header checks in its order, then the whole catalog (at most 4 MiB).</summary>
    internal static BochsImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var file = options.OpenFile(path, formatOwnsFile: true);
        try
        {
            if (!options.ReadOnly)
            {
                throw new ImageAccessException("Image is read-only");
            }

            var bytes = new byte[BochsHeader.Size];
            file.Read(0, bytes);
            if (!BochsHeader.IsBochs(bytes))
            {
                throw new InvalidImageException("Image not in Bochs format", 0);
            }

            var header = BochsHeader.Parse(bytes);
            if (header.CatalogEntries > BochsHeader.MaxCatalogEntries)
            {
                throw new FileTooLargeException("Catalog size is too large");
            }

            // Past the end of the file the catalog reads as zeroes, as QEMU's reads do.
            var raw = new byte[header.CatalogEntries * 4];
            file.Read(header.HeaderSize, raw);
            var catalog = new uint[header.CatalogEntries];
            for (var i = 0; i < catalog.Length; i++)
            {
                catalog[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(i * 4));
            }

            if (header.SizeError() is { } error)
            {
                throw new InvalidImageException(error);
            }

            return new BochsImage(file, options, header, catalog);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public ImageInfo GetInfo() => new()
    {
        Filename = _options.StackedDisplayName ?? _file.Path,
        Format = BochsFormat.Instance.Name,
        VirtualSize = Length,
        ActualSize = _file.AllocatedSize,
    };

    /// <summary>Reads extent by extent: one bitmap read per extent touched, one file read per run of present sectors.</summary>
    public void Read(long offset, Span<byte> buffer)
    {
        HostMappedIo.CheckRange(Length, offset, buffer.Length);
        var extentSize = (long)_header.ExtentSize;
        while (!buffer.IsEmpty)
        {
            var into = offset % extentSize;
            var n = (int)Math.Min(buffer.Length, extentSize - into);
            ReadInExtent(offset / extentSize, into, buffer[..n]);
            offset += n;
            buffer = buffer[n..];
        }
    }

    private void ReadInExtent(long extent, long into, Span<byte> buffer)
    {
        var slot = _catalog[extent];
        if (slot == BochsHeader.Unallocated)
        {
            buffer.Clear();
            return;
        }

        // The slot's bitmap, in QEMU's unsigned 64-bit arithmetic (which may wrap for a hostile catalog entry).
        var bitmapAt = unchecked(_header.DataOffset + ((ulong)BochsHeader.SectorSize * slot * (_header.ExtentSectors + _header.BitmapSectors)));
        var firstSector = (int)(into / BochsHeader.SectorSize);
        var lastSector = (int)((into + buffer.Length - 1) / BochsHeader.SectorSize);
        var bitmap = new byte[(lastSector / 8) - (firstSector / 8) + 1];
        ReadFile(unchecked(bitmapAt + (ulong)(firstSector / 8)), bitmap);
        var sectorsAt = unchecked(bitmapAt + ((ulong)BochsHeader.SectorSize * _header.BitmapSectors));

        var done = 0;
        var sector = firstSector;
        while (done < buffer.Length)
        {
            var present = IsPresent(bitmap, sector - (firstSector / 8 * 8));
            var runEnd = sector + 1;
            while (runEnd <= lastSector && IsPresent(bitmap, runEnd - (firstSector / 8 * 8)) == present)
            {
                runEnd++;
            }

            var within = (int)((into + done) % BochsHeader.SectorSize);
            var n = (int)Math.Min(buffer.Length - done, ((long)(runEnd - sector) * BochsHeader.SectorSize) - within);
            var part = buffer.Slice(done, n);
            if (present)
            {
                ReadFile(unchecked(sectorsAt + ((ulong)BochsHeader.SectorSize * (ulong)sector) + (ulong)within), part);
            }
            else
            {
                part.Clear();
            }

            done += n;
            sector = runEnd;
        }
    }

    private static bool IsPresent(ReadOnlySpan<byte> bitmap, int bit) => ((bitmap[bit / 8] >> (bit % 8)) & 1) != 0;

    /// <summary>A file read that QEMU's block layer would allow; beyond its largest offset it fails with EIO, as there.</summary>
    private void ReadFile(ulong at, Span<byte> buffer)
    {
        if (at > MaxFileOffset || (ulong)buffer.Length > MaxFileOffset - at)
        {
            throw new ErrnoException(EIO, ErrnoText.Strerror(EIO));
        }

        _file.Read((long)at, buffer);
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data) => throw ReadOnlyImageIo.Refusal();

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length, bool mayUnmap) => throw ReadOnlyImageIo.Refusal();

    /// <inheritdoc/>
    public void Discard(long offset, long length) => throw ReadOnlyImageIo.Refusal();

    /// <summary>Nothing to flush: the image is never written.</summary>
    public void Flush() { }

    /// <summary>All data, as QEMU reports an image whose driver has no block status.</summary>
    public IReadOnlyList<Extent> GetExtents(long offset, long length) => ReadOnlyImageIo.AllData(Length, offset, length);

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();
}
