using System.Buffers.Binary;
using DiskImage.Crypto;
using DiskImage.IO;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// An open qcow2 image. Thread-safe: metadata (L1, L2 cache, refcounts, header) is guarded by one
/// lock, while data of already-mapped clusters is read and written outside it.
/// </summary>
public sealed partial class Qcow2Image : IDiskImage, ICompressedClusterWriter
{
    private const long DefaultL2CacheBytes = 4L << 20;
    private const long DefaultRefcountCacheBytes = 1L << 20;
    private readonly object _lock = new();
    private readonly IStorage _file;
    private readonly ImageOpenOptions _options;
    private readonly int _clusterBits;
    private readonly int _clusterSize;
    private readonly int _l2Bits;
    private readonly int _l2EntryBytes;
    private readonly bool _extendedL2;
    private readonly int _subclusterBits;
    private readonly Qcow2TableCache _l2Cache;
    private readonly List<Qcow2Snapshot> _snapshots;

    /// <summary>Opened for check with a snapshot table the check has yet to read.</summary>
    private bool _snapshotTableUnread;

    /// <summary>The snapshot table's extent as the check read it (cut back when repairing); null to measure it on disk.</summary>
    private long? _snapshotTableLength;
    private readonly IDiskImage? _backing;

    /// <summary>Where guest data clusters live: the image file itself, or the external data file.</summary>
    private readonly IStorage _data;
    private Qcow2Header _header;
    private ulong[] _l1;
    private int _l1DirtyLow = int.MaxValue;
    private int _l1DirtyHigh = -1;
    private Qcow2Refcounts? _refcounts;
    private readonly List<long> _pendingFrees = [];

    /// <summary>
    /// Pending frees whose bytes stay in the file: QEMU discards a freed cluster only for some kinds of free, and an
    /// old L1 table's clusters are of the kind it keeps by default (<c>pass-discard-other=off</c>).
    /// </summary>
    private readonly HashSet<long> _freesKeepingBytes = [];
    private bool _dirtyBitSetHere;

    /// <summary>Lazy refcounts in use: the header's setting unless the <c>lazy-refcounts</c> open option says otherwise.</summary>
    private bool _lazyRefcounts;
    private long _freeByteOffset;
    private bool _disposed;

    private Qcow2Image(IStorage file, Qcow2Header header, ImageOpenOptions options)
    {
        _file = file;
        _header = header;
        _options = options;
        _clusterBits = header.ClusterBits;
        _clusterSize = header.ClusterSize;
        _extendedL2 = header.ExtendedL2;
        _l2EntryBytes = _extendedL2 ? 16 : 8;
        _l2Bits = _clusterBits - (_extendedL2 ? 4 : 3);
        _subclusterBits = _extendedL2 ? _clusterBits - 5 : _clusterBits;
        _l1 = ReadL1(file, header.L1TableOffset, header.L1Size);
        _l2Cache = new Qcow2TableCache(file, _clusterSize, DefaultL2CacheBytes, 16, IO.Blkdebug.BlkdebugEvent.L2Load, IO.Blkdebug.BlkdebugEvent.L2Update);
        // In check mode the table is read by the check, which can report and repair what is wrong with it.
        _snapshotTableUnread = options.ForCheck && header.SnapshotCount > 0;
        _snapshots = _snapshotTableUnread ? [] : Qcow2Snapshot.ReadTable(file, header);
        _data = file;
    }

    private Qcow2Image(IStorage file, Qcow2Header header, ImageOpenOptions options, IDiskImage? backing, IStorage? dataFile)
        : this(file, header, options)
    {
        _backing = backing;
        _data = dataFile ?? file;
    }

    /// <summary>True when guest data lives in an external data file (opened or not).</summary>
    private bool HasDataFile => _header.HasDataFile;

    /// <summary>True when the external data file is open, so guest clusters map one to one onto its offsets.</summary>
    private bool DataFileOpen => !ReferenceEquals(_data, _file);

    /// <inheritdoc/>
    public IImageFormat Format => Qcow2Format.Instance;

    /// <inheritdoc/>
    public string FilePath => _file.Path;

    /// <inheritdoc/>
    public IDiskImage? Backing => _backing;

    /// <summary>True for version 3 images, which can mark a cluster as reading zeroes without allocating it.</summary>
    internal bool SupportsZeroClusters => _header.Version >= 3;

    /// <inheritdoc/>
    public long Length => _header.Size;

    /// <inheritdoc/>
    public bool CanWrite => _file.CanWrite;

    /// <inheritdoc/>
    public int ClusterSize => _clusterSize;

    /// <summary>
    /// The transform applied to data clusters as they are read from and written to the host file
    /// (encryption). Null for plain images and for encrypted ones opened without their secret.
    /// </summary>
    internal ISectorEncryption? Cipher { get; private set; }

    internal Qcow2Header Header => _header;

    /// <summary>Opens an image file; see <see cref="IImageFormat.Open"/>.</summary>
    internal static Qcow2Image Open(string path, ImageOpenOptions options)
    {
        var file = options.OpenFile(path, formatOwnsFile: true);
        file.IgnoreFlushes = options.IgnoreFlushes;
        IDiskImage? backing = null;
        IStorage? dataFile = null;
        try
        {
            var header = Qcow2HeaderReader.Read(file, !options.ReadOnly, options.ForRepair, options.ForCheck);
            if (options.Untrusted)
            {
                RefuseForUntrusted(header);
            }

            var runtime = Qcow2RuntimeOptions.From(options.FormatOptions, header);
            dataFile = Qcow2DataFile.Open(file, header, options);

            if (options.OpenBackingChain && header.BackingFile is not null)
            {
                backing = OpenBacking(path, header, options);
            }

            var image = new Qcow2Image(file, header, options, backing, dataFile)
            {
                _lazyRefcounts = runtime.LazyRefcounts,
                CheckInactiveL2Overlap = runtime.InactiveL2OverlapCheck,
            };
            if (header.CryptMethod != Qcow2Constants.CryptNone)
            {
                image.LoadEncryption(options);
            }

            image.LoadBitmaps();

            if (!options.ReadOnly)
            {
                image.PrepareForWriting();
            }

            return image;
        }
        catch
        {
            backing?.Dispose();
            dataFile?.Dispose();
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The backing path resolved the way QEMU combines a name with the overlay's file name: an absolute name or one
    /// with a protocol stays as it is, a relative one beside a URL's last slash or in the overlay's directory.
    /// </summary>
    internal static string ResolveBackingPath(string overlayPath, string backingFile) =>
        IsAbsoluteName(backingFile) ? backingFile
        : IO.Curl.CurlUrl.SchemeOf(overlayPath) is not null || Options.SshNode.IsSshUri(overlayPath) ? IO.Curl.CurlUrl.Sibling(overlayPath, backingFile)
        : Nbd.Client.NbdUri.IsNbd(overlayPath) ? throw new ImageAccessException("Cannot generate a base directory for NBD nodes")
        : Path.Combine(Path.GetDirectoryName(overlayPath) ?? "", backingFile);

    /// <summary>Whether a backing name is used as it is: an absolute path, or a name with a protocol QEMU never resolves against a directory.</summary>
    internal static bool IsAbsoluteName(string backingFile) =>
        Path.IsPathRooted(backingFile) || IO.Curl.CurlUrl.SchemeOf(backingFile) is not null || Options.SshNode.IsSshUri(backingFile)
        || IO.Nfs.NfsUrl.IsNfs(backingFile) || Nbd.Client.NbdUri.IsNbd(backingFile) || Options.JsonFilename.IsJson(backingFile) || IO.Blkdebug.BlkdebugName.IsBlkdebug(backingFile);

    private static void RefuseForUntrusted(Qcow2Header header)
    {
        if (header.BackingFile is not null)
        {
            throw new UnsupportedFeatureException($"Untrusted image names a backing file ('{header.BackingFile}'); refused");
        }

        if (header.HasDataFile || header.DataFile is not null)
        {
            throw new UnsupportedFeatureException("Untrusted image uses an external data file; refused");
        }

        var unknown = header.UnknownExtensions.FirstOrDefault();
        if (unknown is not null)
        {
            throw new UnsupportedFeatureException($"Untrusted image has an unknown header extension (magic 0x{unknown.Magic:x8}); refused");
        }
    }

    private static IDiskImage OpenBacking(string path, Qcow2Header header, ImageOpenOptions options)
    {
        var backingPath = options.BackingPath ?? BackingChain.ResolveForNode(path, header.BackingFile!);
        return BackingChain.Open(path, backingPath, options.BackingFormat ?? header.BackingFormat, options);
    }

    private static ulong[] ReadL1(IStorage file, long offset, int size)
    {
        var l1 = new ulong[size];
        if (size == 0)
        {
            return l1;
        }

        var raw = new byte[size * 8L];
        file.Read(offset, raw);
        for (var i = 0; i < size; i++)
        {
            l1[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }

        return l1;
    }

    /// <inheritdoc/>
    public ImageInfo GetInfo()
    {
        var header = _header;
        var v3 = header.Version >= 3;
        return new ImageInfo
        {
            Filename = _options.StackedDisplayName ?? _file.Path,
            Format = Qcow2Format.Instance.Name,
            VirtualSize = header.Size,
            ActualSize = _file.AllocatedSize,
            ClusterSize = header.ClusterSize,
            Encrypted = header.CryptMethod != Qcow2Constants.CryptNone,
            DirtyFlag = header.IsDirty,
            BackingFilename = header.BackingFile,
            FullBackingFilename = BackingChain.FullBackingPath(_file, header.BackingFile),
            BackingFilenameFormat = header.BackingFile is null ? null : header.BackingFormat,
            Snapshots = _snapshots.Select(s => s.ToInfo()).ToList(),
            FormatSpecific = new Qcow2SpecificInfo
            {
                Compat = v3 ? "1.1" : "0.10",
                CompressionType = header.CompressionType == Qcow2CompressionType.Zstd ? "zstd" : "zlib",
                LazyRefcounts = v3 ? header.LazyRefcounts : null,
                RefcountBits = header.RefcountBits,
                Corrupt = v3 ? header.IsCorrupt : null,
                ExtendedL2 = v3 ? header.ExtendedL2 : null,
                DataFile = header.DataFile,
                DataFileRaw = header.HasDataFile ? header.DataFileRaw : null,
                Encrypt = _encryptionInfo,
                Bitmaps = BitmapInfo(),
            },
        };
    }

    /// <inheritdoc/>
    public void Flush()
    {
        if (!_file.CanWrite)
        {
            return;
        }

        lock (_lock)
        {
            FlushForGuestLocked();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                if (_file.CanWrite && _refcounts is not null)
                {
                    var bitmapsStored = TryStoreBitmapsAtCloseLocked();
                    FlushOnCloseLocked();
                    // As QEMU: an image whose bitmaps could not be stored is not marked clean.
                    if (bitmapsStored && (_dirtyBitSetHere || _header.IsDirty) && !_inPlaceUpdate)
                    {
                        _header = _header with { IncompatibleFeatures = _header.IncompatibleFeatures & ~Qcow2Constants.IncompatibleDirty };
                        WriteHeaderLocked();
                        _file.Flush();
                    }
                }
            }
            finally
            {
                Cipher?.Dispose();
                _backing?.Dispose();
                if (DataFileOpen)
                {
                    _data.Dispose();
                }

                _file.Dispose();
            }
        }
    }

    /// <summary>
    /// Writes the metadata back when the image is closed; a failure is reported as QEMU reports it at close, one line
    /// for the L2 tables and one for the refcount blocks if writing those alone fails again, and the image stays dirty.
    /// </summary>
    private void FlushOnCloseLocked()
    {
        try
        {
            FlushMetadataLocked();
            return;
        }
        catch (IOException e)
        {
            var lines = $"Failed to flush the L2 table cache: {IO.ErrnoText.Describe(e)}";
            try
            {
                _refcounts!.WriteDirty();
                _file.Flush();
            }
            catch (IOException again)
            {
                lines += $"\nFailed to flush the refcount block cache: {IO.ErrnoText.Describe(again)}";
            }

            throw new ImageAccessException(lines, e);
        }
    }

    private void CheckRange(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range {offset}+{length} lies outside the {Length}-byte image.");
        }
    }

    private void CheckDataAccess()
    {
        if (HasDataFile && !DataFileOpen)
        {
            // Opened for its metadata only (info), as qemu-img info opens it: the data file was not looked at.
            throw new UnsupportedFeatureException("The external data file of this image was not opened");
        }

        if (_header.CryptMethod != Qcow2Constants.CryptNone && Cipher is null)
        {
            throw new InvalidOptionException(EncryptionSecrets.MissingKeySecretMessage);
        }
    }
}
