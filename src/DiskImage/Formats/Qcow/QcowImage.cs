using System.Buffers.Binary;
using System.Text;
using DiskImage.Crypto;
using DiskImage.IO;

namespace DiskImage.Formats.Qcow;

/// <summary>
/// An open qcow (version 1) image: a two-level table (L1 in memory, L2 tables read on demand) maps each guest
/// cluster to a host cluster, a zlib-compressed cluster, or nothing (the backing file, or zeroes, shows through).
/// There are no reference counts: clusters and tables are only ever appended at the end of the file.
/// </summary>
public sealed partial class QcowImage : IDiskImage, IHostMappedImage
{
    private readonly IStorage _file;
    private readonly QcowHeader _header;
    private readonly string? _backingName;
    private readonly IDiskImage? _backing;
    private readonly ISectorEncryption? _cipher;
    private readonly string? _displayName;
    private readonly long _length;
    private readonly int _clusterBits;
    private readonly int _clusterSize;
    private readonly int _l2Bits;
    private readonly ulong _compressedOffsetMask;
    private readonly Lock _lock = new();

    /// <summary>The L1 entries present in the file; entries past the end of the array are zero (not yet written).</summary>
    private ulong[] _l1;

    /// <summary>End of the file as this image has written it: where the next table or cluster goes.</summary>
    private long _end;

    private QcowImage(IStorage file, QcowHeader header, ulong[] l1, string? backingName, IDiskImage? backing, ISectorEncryption? cipher, string? displayName)
    {
        _file = file;
        _header = header;
        _l1 = l1;
        _backingName = backingName;
        _backing = backing;
        _cipher = cipher;
        _displayName = displayName;
        // QEMU counts whole sectors: an odd size in the header is rounded down.
        _length = (long)(header.DiskSize / 512 * 512);
        _clusterBits = header.ClusterBits;
        _clusterSize = header.ClusterSize;
        _l2Bits = header.L2Bits;
        _compressedOffsetMask = (1UL << (63 - _clusterBits)) - 1;
        _end = file.Length;
    }

    /// <inheritdoc/>
    public IImageFormat Format => QcowFormat.Instance;

    /// <inheritdoc/>
    public string FilePath => _file.Path;

    /// <inheritdoc/>
    public IDiskImage? Backing => _backing;

    /// <inheritdoc/>
    public long Length => _length;

    /// <inheritdoc/>
    public bool CanWrite => _file.CanWrite;

    /// <summary>Guest bytes per cluster.</summary>
    public int ClusterSize => _clusterSize;

    IStorage IHostMappedImage.Storage => _file;

    /// <summary>Opens a qcow image; its header is checked before any size or offset in it is used.</summary>
    /// <param name="path">The image file.</param>
    /// <param name="options">How to open it.</param>
    internal static QcowImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var file = options.OpenFile(path, formatOwnsFile: true);
        IDiskImage? backing = null;
        ISectorEncryption? cipher = null;
        try
        {
            file.IgnoreFlushes = options.IgnoreFlushes;
            var bytes = new byte[QcowHeader.Size];
            file.Read(0, bytes);
            if (BinaryPrimitives.ReadUInt32BigEndian(bytes) != QcowHeader.Magic)
            {
                throw new InvalidImageException("Image not in qcow format");
            }

            var header = QcowHeader.Parse(bytes);
            header.Validate();
            if (!header.TablesAreAddressable)
            {
                // qemu-img names the file twice here: the failed read is reported by the file layer's open.
                throw new InvalidImageException($"Could not open '{path}': Input/output error");
            }

            cipher = OpenCipher(header, options);
            var l1 = ReadL1(file, header);
            var backingName = ReadBackingName(file, header);
            if (backingName is not null && options.Untrusted)
            {
                throw new UnsupportedFeatureException($"Untrusted image names a backing file ('{backingName}'); refused");
            }

            if (backingName is not null && options.OpenBackingChain)
            {
                backing = OpenBacking(path, backingName, options);
            }

            return new QcowImage(file, header, l1, backingName, backing, cipher, options.StackedDisplayName);
        }
        catch
        {
            cipher?.Dispose();
            backing?.Dispose();
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The legacy AES key: qemu-img still opens such images (system emulators no longer do). Without a key the image
    /// opens only for inspection, as QEMU's no-I/O open.
    /// </summary>
    private static ISectorEncryption? OpenCipher(QcowHeader header, ImageOpenOptions options)
    {
        options.FormatOptions.TryGetValue("encrypt.format", out var format);
        if (header.CryptMethod == QcowHeader.CryptNone)
        {
            return format is null ? null : throw new InvalidOptionException($"No encryption in image header, but options specified format '{format}'");
        }

        if (format is not null && format != "aes")
        {
            throw new InvalidOptionException($"Header reported 'aes' encryption format but options specify '{format}'");
        }

        var passphrase = options.MetadataOnly ? null : EncryptionSecrets.Find(options);
        if (passphrase is null)
        {
            return options.MetadataOnly ? null : throw new InvalidOptionException(EncryptionSecrets.MissingKeySecretMessage);
        }

        return new LegacyAesEncryption(passphrase);
    }

    /// <summary>
    /// The L1 table, as far as the file holds it (QEMU reads the missing part as zeroes; keeping only what is there
    /// bounds memory by the file's size, whatever the header claims).
    /// </summary>
    private static ulong[] ReadL1(IStorage file, QcowHeader header)
    {
        var offset = (long)header.L1TableOffset;
        var inFile = Math.Max(0, (file.Length - offset) / 8);
        var count = (int)Math.Min(header.L1Entries, inFile);
        var raw = new byte[count * 8L];
        file.Read(offset, raw);
        var l1 = new ulong[count];
        for (var i = 0; i < count; i++)
        {
            l1[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }

        return l1;
    }

    /// <summary>The backing file name (up to its first NUL, as QEMU keeps it), or null when there is none.</summary>
    private static string? ReadBackingName(IStorage file, QcowHeader header)
    {
        if (header.BackingFileOffset == 0)
        {
            return null;
        }

        var raw = new byte[header.BackingFileSize];
        file.Read((long)header.BackingFileOffset, raw);
        var end = Array.IndexOf(raw, (byte)0);
        var name = Encoding.UTF8.GetString(raw, 0, end < 0 ? raw.Length : end);
        return name.Length == 0 ? null : name;
    }

    private static IDiskImage OpenBacking(string path, string backingName, ImageOpenOptions options)
    {
        var backingPath = options.BackingPath ?? BackingChain.ResolveForNode(path, backingName);
        // qcow stores no backing format: it is probed unless the caller names one.
        return BackingChain.Open(path, backingPath, options.BackingFormat, options);
    }

    /// <inheritdoc/>
    public ImageInfo GetInfo() => new()
    {
        Filename = _displayName ?? _file.Path,
        Format = QcowFormat.Instance.Name,
        VirtualSize = _length,
        ActualSize = _file.AllocatedSize,
        ClusterSize = _clusterSize,
        Encrypted = _header.CryptMethod != QcowHeader.CryptNone,
        DirtyFlag = false,
        BackingFilename = _backingName,
        FullBackingFilename = BackingChain.FullBackingPath(_file, _backingName),
    };

    /// <inheritdoc/>
    public void Dispose()
    {
        _cipher?.Dispose();
        _backing?.Dispose();
        _file.Dispose();
    }

    private void CheckRange(long offset, long length) => HostMappedIo.CheckRange(_length, offset, length);

    private void CheckWritable() => HostMappedIo.CheckWritable(_file);
}
