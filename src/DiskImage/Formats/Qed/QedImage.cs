using System.Buffers.Binary;
using System.Text;
using DiskImage.IO;

namespace DiskImage.Formats.Qed;

/// <summary>
/// An open QED image: a two-level table (L1, then L2 tables of <c>table_size</c> clusters) maps guest clusters to
/// data clusters appended at the end of the file; unallocated clusters read from the backing file, zero clusters
/// (entry 1) as zeroes. A need-check feature bit marks an image whose tables may reference clusters that were
/// never written: it is set before the first allocation of a session without a backing file and cleared on close.
/// </summary>
public sealed partial class QedImage : IDiskImage
{
    /// <summary>QEMU's limit on a stored backing file name (the size of its name buffer, less the NUL).</summary>
    private const int BackingNameBuffer = 4096;

    private readonly IStorage _file;
    private readonly ImageOpenOptions _options;
    private readonly ulong[] _l1;
    private readonly int _clusterBits;
    private readonly int _l2Bits;
    private readonly Lock _lock = new();
    private readonly IDiskImage? _backing;
    private QedHeader _header;

    /// <summary>The file length rounded down to whole clusters; new clusters are appended here.</summary>
    private ulong _fileSize;

    private QedImage(IStorage file, QedHeader header, ulong[] l1, string? backingName, ImageOpenOptions options, IDiskImage? backing)
    {
        _file = file;
        _header = header;
        _l1 = l1;
        _options = options;
        _backing = backing;
        BackingFilename = backingName;
        _clusterBits = System.Numerics.BitOperations.Log2(header.ClusterSize);
        _l2Bits = System.Numerics.BitOperations.Log2((uint)header.TableEntries);
        _fileSize = (ulong)file.Length & ~(ulong)(header.ClusterSize - 1);
    }

    /// <inheritdoc/>
    public IImageFormat Format => QedFormat.Instance;

    /// <inheritdoc/>
    public string FilePath => _file.Path;

    /// <inheritdoc/>
    public IDiskImage? Backing => _backing;

    /// <inheritdoc/>
    public long Length => (long)_header.ImageSize;

    /// <inheritdoc/>
    public bool CanWrite => _file.CanWrite;

    /// <summary>The backing file name as stored, or null.</summary>
    internal string? BackingFilename { get; }

    /// <summary>The backing format the image implies: raw with the no-probe bit, else probed (null).</summary>
    internal string? BackingFormat => _header.HasBackingFile && (_header.Features & QedHeader.FeatureBackingFormatNoProbe) != 0 ? "raw" : null;

    private int ClusterSize => (int)_header.ClusterSize;

    /// <summary>Opens a QED image; a writable open of an image marked need-check checks and repairs it first, as QEMU.</summary>
    internal static QedImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var file = options.OpenFile(path, formatOwnsFile: true);
        file.IgnoreFlushes = options.IgnoreFlushes;
        IDiskImage? backing = null;
        try
        {
            var bytes = new byte[QedHeader.Size];
            file.Read(0, bytes);
            if (!QedHeader.HasMagic(bytes))
            {
                throw new InvalidImageException("Image not in QED format", 0);
            }

            var header = QedHeader.Parse(bytes);
            header.Validate(file.Length);
            string? backingName = null;
            if (header.HasBackingFile)
            {
                if (header.BackingFilenameSize >= BackingNameBuffer)
                {
                    throw new InvalidImageException("Failed to read backing filename");
                }

                var name = new byte[header.BackingFilenameSize];
                file.Read(header.BackingFilenameOffset, name);
                // QEMU keeps the name as a C string: it ends at the first NUL.
                var end = Array.IndexOf(name, (byte)0);
                backingName = Encoding.UTF8.GetString(name, 0, end < 0 ? name.Length : end);
                if (options.Untrusted)
                {
                    throw new UnsupportedFeatureException($"Untrusted image names a backing file ('{backingName}'); refused");
                }
            }

            if (header.AutoclearFeatures != 0 && !options.ReadOnly)
            {
                // No autoclear bits are known: an older writer drops them all, as QEMU does on a writable open.
                header = header with { AutoclearFeatures = 0 };
                var raw = new byte[QedHeader.Size];
                header.WriteTo(raw);
                file.Write(0, raw);
                file.Flush();
            }

            var l1 = ReadTable(file, header.L1TableOffset, header.TableEntries);
            if (options.OpenBackingChain && backingName is not null && backingName.Length > 0)
            {
                backing = OpenBacking(path, backingName, header, options);
            }

            var image = new QedImage(file, header, l1, backingName, options, backing);
            if (header.NeedsCheck && !options.ReadOnly && !options.ForCheck)
            {
                // A read-only open cannot repair and cannot do harm; a writable one must not build on broken tables.
                image.CheckAtOpen();
            }

            return image;
        }
        catch
        {
            backing?.Dispose();
            file.Dispose();
            throw;
        }
    }

    private static ulong[] ReadTable(IStorage file, ulong offset, int entries)
    {
        var raw = new byte[entries * 8L];
        file.Read((long)offset, raw);
        var table = new ulong[entries];
        for (var i = 0; i < entries; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(i * 8));
        }

        return table;
    }

    private static IDiskImage OpenBacking(string path, string backingName, QedHeader header, ImageOpenOptions options)
    {
        var backingPath = options.BackingPath ?? BackingChain.ResolveForNode(path, backingName);
        var format = options.BackingFormat ?? ((header.Features & QedHeader.FeatureBackingFormatNoProbe) != 0 ? "raw" : null);
        return BackingChain.Open(path, backingPath, format, options);
    }

    /// <inheritdoc/>
    public ImageInfo GetInfo() => new()
    {
        Filename = _options.StackedDisplayName ?? _file.Path,
        Format = QedFormat.Instance.Name,
        VirtualSize = Length,
        ActualSize = _file.AllocatedSize,
        ClusterSize = ClusterSize,
        // QEMU clears the need-check bit in memory when its idle timer fires, which the drain of every qemu-img open
        // does (a read-only open cannot write it back): qemu-img info never reports a QED image dirty.
        DirtyFlag = false,
        BackingFilename = BackingFilename,
        FullBackingFilename = BackingChain.FullBackingPath(_file, BackingFilename),
        BackingFilenameFormat = BackingFilename is null ? null : BackingFormat,
    };

    /// <summary>
    /// Flushes, then clears the need-check bit, as QEMU's close: every table update before it has reached the disk,
    /// so the next open need not check.
    /// </summary>
    public void Dispose()
    {
        try
        {
            if (_file.CanWrite)
            {
                lock (_lock)
                {
                    _file.Flush();
                    if (_header.NeedsCheck)
                    {
                        _header = _header with { Features = _header.Features & ~QedHeader.FeatureNeedCheck };
                        WriteHeaderLocked();
                        _file.Flush();
                    }
                }
            }
        }
        finally
        {
            _backing?.Dispose();
            _file.Dispose();
        }
    }

    /// <summary>Writes the 64 header bytes (the backing name and anything else after them are left as they are).</summary>
    private void WriteHeaderLocked()
    {
        Span<byte> raw = stackalloc byte[QedHeader.Size];
        _header.WriteTo(raw);
        _file.Write(0, raw);
    }

    private void CheckRange(long offset, long length) => HostMappedIo.CheckRange(Length, offset, length);

    private void CheckWritable() => HostMappedIo.CheckWritable(_file);
}
