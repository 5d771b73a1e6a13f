using System.Buffers.Binary;
using DiskImage.IO;
using DiskImage.Operations.Check;

namespace DiskImage.Formats.Vhdx;

/// <summary>
/// An open VHDX (Hyper-V) image: fixed and dynamic disks, logical sectors of 512 or 4096 bytes, blocks of 1 to
/// 256 MiB. The block allocation table interleaves one sector-bitmap entry after every chunk of payload entries;
/// blocks that are not fully present read as zeroes, as in QEMU. A read-write open replays a pending log first.
/// </summary>
public sealed partial class VhdxImage : IDiskImage, IHostMappedImage, IConsistencyCheckable, IBlockMap
{
    internal const ulong FullyPresent = 6;
    internal const ulong ZeroState = 2;
    private const ulong StateMask = 7;
    private const ulong OffsetMask = 0xFFFFFFFFFFF00000;
    private const ulong PartiallyPresent = 7;
    private const ulong UndefinedState4 = 4;
    private const long HeaderSectionEnd = 1 << 20;

    private readonly IStorage _file;
    private readonly VhdxMetadata _metadata;
    private readonly ulong[] _bat;
    private readonly long _batOffset;
    private readonly (long Start, long End)[] _regions;
    private readonly VhdxHeaderPair _headers;
    private readonly bool _logReplayedOnOpen;

    private VhdxImage(IStorage file, VhdxMetadata metadata, ulong[] bat, long batOffset, (long, long)[] regions, VhdxHeaderPair headers, bool logReplayed)
    {
        _file = file;
        _metadata = metadata;
        _bat = bat;
        _batOffset = batOffset;
        _regions = regions;
        _headers = headers;
        _logReplayedOnOpen = logReplayed;
    }

    /// <inheritdoc/>
    public IImageFormat Format => VhdxFormat.Instance;

    /// <inheritdoc/>
    public string FilePath => _file.Path;

    /// <inheritdoc/>
    public IDiskImage? Backing => null;

    /// <inheritdoc/>
    public long Length => (long)_metadata.VirtualDiskSize;

    /// <inheritdoc/>
    public bool CanWrite => _file.CanWrite;

    IStorage IHostMappedImage.Storage => _file;

    /// <summary>A repair opens the image for writing, which replays a pending log: the one thing QEMU repairs.</summary>
    bool IConsistencyCheckable.CanRepair => true;

    private long BlockSize => _metadata.BlockSize;

    /// <summary>Opens a VHDX image, replaying its log first when it is opened for writing.</summary>
    /// <param name="path">The image file.</param>
    /// <param name="options">How to open it.</param>
    public static VhdxImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // A format node stacked under this one (a json: name's file.driver) replaces the host file.
        var file = options.FileNode is { } node ? node(options, true) : Storage.Open(path, !options.ReadOnly, options.LockFor(path, formatOwnsFile: true));
        try
        {
            file.IgnoreFlushes = options.IgnoreFlushes;
            return Open(file);
        }
        catch (DiskImageException e) when (e.Message is "Invalid argument" or "Operation not supported")
        {
            // A bare errno from the driver is reported by QEMU as a failure to open the file, under the outer one.
            file.Dispose();
            throw e is InvalidImageException ? new InvalidImageException($"Could not open '{path}': {e.Message}", e) : new UnsupportedFeatureException($"Could not open '{path}': {e.Message}", e);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static VhdxImage Open(IStorage file)
    {
        var signature = new byte[8];
        file.Read(0, signature);
        if (!signature.AsSpan().SequenceEqual("vhdxfile"u8))
        {
            throw new InvalidImageException("Invalid argument", 0); // QEMU fails with a bare EINVAL here
        }

        var (header, index, blocks) = VhdxHeader.ReadBoth(file);
        var headers = new VhdxHeaderPair(file, blocks, index, header);
        var pending = VhdxLog.FindSequence(file, header);
        if (pending is not null)
        {
            if (!file.CanWrite)
            {
                // The second and third lines are qemu's hint, printed unprefixed under the error.
                throw new ImageAccessException($"VHDX image file '{file.Path}' opened read-only, but contains a log that needs to be replayed"
                    + $"\nTo replay the log, run:\nqemu-img check -r all '{file.Path}'");
            }

            // QEMU's replay: a new data-write GUID, the entries written in place, then the log marked empty.
            headers.BeforeVisibleWrite();
            VhdxLog.Replay(file, headers.Current, pending);
            headers.SetLogGuid(Guid.Empty);
            header = headers.Current;
        }

        var regions = VhdxRegionTable.Read(file);
        var metadata = VhdxMetadata.Read(file, regions.MetadataOffset, regions.MetadataLength);
        var dataBlocks = (long)((metadata.VirtualDiskSize + metadata.BlockSize - 1) / metadata.BlockSize);
        var entries = dataBlocks == 0 ? 0 : dataBlocks + ((dataBlocks - 1) / metadata.ChunkRatio);
        if (entries > regions.BatLength / 8)
        {
            throw new InvalidImageException("Invalid argument", VhdxRegionTable.Offset);
        }

        var raw = new byte[entries * 8];
        file.Read(regions.BatOffset, raw);
        var bat = new ulong[entries];
        for (var i = 0; i < bat.Length; i++)
        {
            bat[i] = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(i * 8));
        }

        // In the order QEMU checks them (the last registered first), so the overlap reported is the one it reports.
        (long, long)[] known =
        [
            (regions.MetadataOffset, regions.MetadataOffset + regions.MetadataLength),
            (regions.BatOffset, regions.BatOffset + regions.BatLength),
            ((long)header.LogOffset, (long)header.LogOffset + header.LogLength),
            (0, HeaderSectionEnd),
        ];
        var image = new VhdxImage(file, metadata, bat, regions.BatOffset, known, headers, pending is not null)
        {
            _logSequence = pending is null ? 1 : pending.FirstSequenceNumber + 1,
        };
        var problems = image.CheckTable(stopAtFirst: true);
        if (problems.Count > 0)
        {
            throw new InvalidImageException(problems[0]);
        }

        return image;
    }

    /// <inheritdoc/>
    public ImageInfo GetInfo() => new()
    {
        Filename = _file.Path,
        Format = VhdxFormat.Instance.Name,
        VirtualSize = Length,
        ActualSize = _file.AllocatedSize,
        ClusterSize = (int)BlockSize,
    };

    long IBlockMap.BlockSize => BlockSize;

    bool IBlockMap.NewBlocksAreSparse => true;

    IStorage IBlockMap.BlockFile => _file;

    long IBlockMap.HostOffset(long offset) => HostOffset(offset);

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        CheckRange(offset, buffer.Length);
        BlockMappedIo.Read(this, offset, buffer);
    }

    /// <inheritdoc/>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        CheckRange(offset, length);
        return BlockMappedIo.GetExtents(this, offset, length);
    }

    /// <summary>QEMU 7.2's vhdx driver reports no block status, so its map shows the whole disk as data.</summary>
    HostMapping IHostMappedImage.MapRun(long offset, long length) => new(length, ExtentKind.Data, null);

    /// <summary>QEMU's check: fully present blocks must lie inside the file and clear of the metadata regions.</summary>
    CheckCounts IConsistencyCheckable.Check(CheckRepair repair)
    {
        // QEMU counts a log replayed by the (read-write) open of a repair as one corruption fixed.
        var counts = new CheckCounts { CorruptionsFixed = repair != CheckRepair.None && _logReplayedOnOpen ? 1 : 0 };
        foreach (var problem in CheckTable(stopAtFirst: false))
        {
            counts.Messages.Add(problem);
            counts.Corruptions++;
        }

        return counts;
    }

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();

    private List<string> CheckTable(bool stopAtFirst)
    {
        var problems = new List<string>();
        var fileLength = _file.Length;
        var payloadLeft = _metadata.ChunkRatio;
        for (long i = 0; i < _bat.Length && !(stopAtFirst && problems.Count > 0); i++)
        {
            if ((_bat[i] & StateMask) != FullyPresent)
            {
                continue;
            }

            var offset = (long)(_bat[i] & OffsetMask);
            var blockLength = Math.Min(BlockSize, Length - (i * BlockSize));
            if (offset >= fileLength)
            {
                problems.Add($"VHDX BAT entry {i} start offset {offset} points after end of file ({fileLength}). Image has probably been truncated.");
            }
            else if (offset + blockLength > fileLength)
            {
                problems.Add($"VHDX BAT entry {i} end offset {offset + blockLength - 1} points after end of file ({fileLength}). Image has probably been truncated.");
            }

            // QEMU counts payload entries only among fully present ones; its region check follows that count.
            if (payloadLeft-- > 0)
            {
                foreach (var (start, end) in _regions)
                {
                    if (offset < end && offset + BlockSize > start)
                    {
                        problems.Add($"VHDX region {offset}-{offset + BlockSize} overlaps with region {start}-{end}");
                        break;
                    }
                }
            }
            else
            {
                payloadLeft = _metadata.ChunkRatio;
            }
        }

        return problems;
    }

    /// <summary>File offset of guest byte <paramref name="offset"/>, or -1 when its block reads as zeroes.</summary>
    private long HostOffset(long offset)
    {
        var block = offset / BlockSize;
        var index = block + (block / _metadata.ChunkRatio);
        var entry = Volatile.Read(ref _bat[index]);
        return (entry & StateMask) switch
        {
            FullyPresent => (long)(entry & OffsetMask) + (offset % BlockSize),
            PartiallyPresent or UndefinedState4 => throw new InvalidImageException("Input/output error"),
            _ => -1,
        };
    }

    private void CheckRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range {offset}+{length} lies outside the {Length}-byte image.");
        }
    }
}
