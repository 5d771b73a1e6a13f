using System.Globalization;
using DiskImage.IO;

namespace DiskImage.Formats.Dmg;

/// <summary>
/// An open Apple disk image (UDIF, QEMU's read-only <c>dmg</c> driver): a table of chunks, each a run of sectors
/// stored zlib-compressed, raw or as zeroes, found through the "koly" trailer at the end of the file. Sectors no
/// readable chunk covers (bzip2 and lzfse chunks among them, as the judged QEMU build reads neither) fail to read
/// with EIO. Never writable.
/// </summary>
public sealed partial class DmgImage : IDiskImage
{
    /// <summary>The block layer's largest node, in bytes (2^63 rounded down to 1 GiB).</summary>
    private const long MaxLength = 0x7FFFFFFFC0000000;

    /// <summary>
    /// What the judged qemu-img prints on every open of a dmg image: its build looks for the bzip2 and lzfse
    /// decompressor modules, which its package does not ship.
    /// </summary>
    internal static readonly string[] MissingModuleNotices =
    [
        "qemu: module block-block-dmg-bz2 not found, do you want to install qemu-block-extra package?",
        "qemu: module block-block-dmg-lzfse not found, do you want to install qemu-block-extra package?",
    ];

    private readonly IStorage _file;
    private readonly ImageOpenOptions _options;
    private readonly DmgChunkTable _table;
    private readonly long _length;

    private DmgImage(IStorage file, ImageOpenOptions options, DmgChunkTable table, long length)
    {
        _file = file;
        _options = options;
        _table = table;
        _length = length;
        _chunkBuffer = [];
        _currentChunk = -1;
    }

    /// <inheritdoc/>
    public IImageFormat Format => DmgFormat.Instance;

    /// <inheritdoc/>
    public string FilePath => _file.Path;

    /// <summary>The format names no backing file.</summary>
    public IDiskImage? Backing => null;

    /// <inheritdoc/>
    public long Length => _length;

    /// <summary>Always false: the format is read-only.</summary>
    public bool CanWrite => false;

    /// <summary>
    /// Opens an image in QEMU's order: the file, the refusal of a writable open, the trailer, its fork offsets and
    /// size, then the tables (the resource fork when it has a length, else the XML property list).
    /// </summary>
    internal static DmgImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var file = options.OpenFile(path, formatOwnsFile: true);
        try
        {
            // Commit opens its top image for writing, though it asks only for the permission to write.
            if (!options.ReadOnly || (options.Permissions is { } permissions && (permissions & LockPermissions.Write) != 0))
            {
                throw new ImageAccessException("Image is read-only");
            }

            foreach (var notice in MissingModuleNotices)
            {
                ImageWarnings.Report(notice);
            }

            var koly = DmgTrailer.Find(file);
            var table = ReadTables(file, koly, path);
            return new DmgImage(file, options, table.Table, table.Length);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static (DmgChunkTable Table, long Length) ReadTables(IStorage file, long kolyOffset, string path)
    {
        var koly = DmgTrailer.Read(file, kolyOffset);
        var end = (ulong)kolyOffset;
        try
        {
            if (koly.DataForkOffset > end
                || koly.ResourceForkOffset >= end || koly.ResourceForkLength > end - koly.ResourceForkOffset
                || koly.XmlOffset >= end || koly.XmlLength > end - koly.XmlOffset
                || koly.SectorCount > long.MaxValue)
            {
                throw new DmgTableException();
            }

            var table = new DmgChunkTable();
            var mish = new DmgMishBlock(table, koly.DataForkOffset);
            if (koly.ResourceForkLength != 0)
            {
                DmgResourceFork.Read(file, mish, koly.ResourceForkOffset, koly.ResourceForkLength);
            }
            else if (koly.XmlLength != 0)
            {
                DmgPropertyList.Read(file, mish, koly.XmlOffset, koly.XmlLength);
            }
            else
            {
                throw new DmgTableException();
            }

            // The block layer's check on the size the driver gives, in its wrapping 64-bit arithmetic.
            var length = unchecked((long)koly.SectorCount * 512);
            if (length > MaxLength || koly.SectorCount > long.MaxValue / 512)
            {
                // A size past 2^63 bytes that wraps below the limit opens in QEMU and then fails every size query;
                // refused here at open, in the words of the wrap-free case.
                throw new FileTooLargeException("Could not refresh total sector count: File too large");
            }

            return (table, length);
        }
        catch (DmgTableException)
        {
            // QEMU's driver fails with EINVAL alone, which the block layer reports against the file name.
            throw new InvalidImageException(string.Create(CultureInfo.InvariantCulture, $"Could not open '{path}': Invalid argument"));
        }
    }

    /// <inheritdoc/>
    public ImageInfo GetInfo() => new()
    {
        Filename = _options.StackedDisplayName ?? _file.Path,
        Format = DmgFormat.Instance.Name,
        VirtualSize = Length,
        ActualSize = _file.AllocatedSize,
    };

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();
}
