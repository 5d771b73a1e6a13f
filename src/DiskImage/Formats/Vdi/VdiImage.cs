using System.Buffers.Binary;
using DiskImage.IO;
using DiskImage.Operations.Check;

namespace DiskImage.Formats.Vdi;

/// <summary>
/// An open VirtualBox VDI: a block map of 1 MiB blocks. Static images have every block allocated in place;
/// dynamic ones allocate blocks at the end of the file as they are first written.
/// </summary>
public sealed partial class VdiImage : IDiskImage, IHostMappedImage, IConsistencyCheckable, IBlockMap
{
    private const uint Unallocated = 0xffffffff;

    /// <summary>Entries at or above this are not allocated (0xfffffffe marks a discarded block).</summary>
    private const uint FirstUnallocated = 0xfffffffe;

    private readonly IStorage _file;
    private readonly VdiHeader _header;
    private readonly byte[] _headerBytes;
    private readonly uint[] _bmap;
    private readonly long _length;
    private readonly Lock _allocation = new();
    private uint _blocksAllocated;

    private VdiImage(IStorage file, byte[] headerBytes, VdiHeader header, uint[] bmap)
    {
        _file = file;
        _headerBytes = headerBytes;
        _header = header;
        _bmap = bmap;
        _length = (long)header.RoundedDiskSize;
        _blocksAllocated = header.BlocksAllocated;
    }

    /// <inheritdoc/>
    public IImageFormat Format => VdiFormat.Instance;

    /// <inheritdoc/>
    public string FilePath => _file.Path;

    /// <inheritdoc/>
    public IDiskImage? Backing => null;

    /// <inheritdoc/>
    public long Length => _length;

    /// <inheritdoc/>
    public bool CanWrite => _file.CanWrite;

    IStorage IHostMappedImage.Storage => _file;

    private static bool IsAllocated(uint entry) => entry < FirstUnallocated;

    /// <summary>Opens a VDI image (its header and block map are checked before use).</summary>
    /// <param name="path">The image file.</param>
    /// <param name="options">How to open it.</param>
    public static VdiImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // A format node stacked under this one (a json: name's file.driver) replaces the host file.
        var file = options.FileNode is { } node ? node(options, true) : Storage.Open(path, !options.ReadOnly, options.LockFor(path, formatOwnsFile: true));
        try
        {
            file.IgnoreFlushes = options.IgnoreFlushes;
            var bytes = new byte[VdiHeader.Size];
            file.Read(0, bytes);
            // QEMU looks at the size before the signature, so a file of another format can fail on either.
            var header = VdiHeader.Parse(bytes);
            header.ValidateSize();
            if (!VdiHeader.HasSignature(bytes))
            {
                throw new InvalidImageException($"Image not in VDI format (bad signature {BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(0x40)):x8})", 0x40);
            }

            header.Validate();
            if (header.OffsetBmap + ((long)header.BlocksInImage * 4) > file.Length)
            {
                throw new InvalidImageException("unsupported VDI image (block map past the end of the file)");
            }

            var raw = new byte[header.BlocksInImage * 4L];
            file.Read(header.OffsetBmap, raw);
            var bmap = new uint[header.BlocksInImage];
            for (var i = 0; i < bmap.Length; i++)
            {
                bmap[i] = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(i * 4));
            }

            return new VdiImage(file, bytes, header, bmap);
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
        Filename = _file.Path,
        Format = VdiFormat.Instance.Name,
        VirtualSize = _length,
        ActualSize = _file.AllocatedSize,
        ClusterSize = VdiHeader.BlockSize,
    };

    /// <summary>
    /// QEMU's check: every allocated entry must point inside the image and at a block no other entry uses,
    /// and the header's allocated-block count must match. Repairs are not offered (qemu-img exits 63).
    /// </summary>
    bool IConsistencyCheckable.CanRepair => false;

    CheckCounts IConsistencyCheckable.Check(CheckRepair repair)
    {
        if (repair != CheckRepair.None)
        {
            throw new UnsupportedFeatureException("This image format does not support checks");
        }

        var counts = new CheckCounts();
        var used = new bool[_bmap.Length];
        uint allocated = 0;
        for (uint block = 0; block < _bmap.Length; block++)
        {
            var entry = _bmap[block];
            if (!IsAllocated(entry))
            {
                continue;
            }

            if (entry >= _bmap.Length)
            {
                counts.Messages.Add($"ERROR: block index {block} too large, is {entry}");
                counts.Corruptions++;
                continue;
            }

            // Entries inside the image count as allocated, shared or not (QEMU's tally, and its wording, which
            // names the shared data block twice).
            allocated++;
            if (used[entry])
            {
                counts.Messages.Add($"ERROR: block index {entry} also used by {entry}");
                counts.Corruptions++;
            }

            used[entry] = true;
        }

        if (allocated != _blocksAllocated)
        {
            counts.Messages.Add($"ERROR: allocated blocks mismatch, is {allocated}, should be {_blocksAllocated}");
            counts.Corruptions++;
        }

        return counts;
    }

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();

    private void CheckRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > _length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range {offset}+{length} lies outside the {_length}-byte image.");
        }
    }

    private void CheckWritable()
    {
        if (!_file.CanWrite)
        {
            throw new InvalidOperationException("The image was opened read-only.");
        }
    }
}
