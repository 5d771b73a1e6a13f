using DiskImage.IO;

namespace DiskImage.Formats.Cloop;

/// <summary>
/// An open cloop image: guest block <c>i</c> is the zlib stream between table offsets <c>i</c> and <c>i + 1</c>, which
/// must inflate to exactly one block. Read only. The last block read is kept, as QEMU keeps it, so sequential reads
/// inflate each block once. As QEMU's driver has no block status, the whole disk is reported as data.
/// </summary>
public sealed class CloopImage : IDiskImage
{
    private const int EIO = 5;

    /// <summary>QEMU's block layer refuses any access past this file offset (2^63 rounded down to 1 GiB).</summary>
    private const ulong MaxFileOffset = 0x7FFFFFFFC0000000;

    private readonly IStorage _file;
    private readonly ImageOpenOptions _options;
    private readonly CloopHeader _header;
    private readonly CloopOffsets _offsets;
    private readonly Lock _lock = new();
    private byte[]? _block;
    private long _cachedBlock = -1;

    private CloopImage(IStorage file, ImageOpenOptions options, CloopHeader header, CloopOffsets offsets)
    {
        _file = file;
        _options = options;
        _header = header;
        _offsets = offsets;
    }

    /// <inheritdoc/>
    public IImageFormat Format => CloopFormat.Instance;

    /// <inheritdoc/>
    public string FilePath => _file.Path;

    /// <inheritdoc/>
    public IDiskImage? Backing => null;

    /// <inheritdoc/>
    public long Length => (long)_header.Sectors * CloopHeader.SectorSize;

    /// <inheritdoc/>
    public bool CanWrite => false;

    /// <summary>Opens an image read-only: QEMU's header and table checks in its order.</summary>
    internal static CloopImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var file = options.OpenFile(path, formatOwnsFile: true);
        try
        {
            if (!options.ReadOnly)
            {
                throw new ImageAccessException("Image is read-only");
            }

            // A file shorter than the header reads as zeroes past its end, as QEMU's reads do.
            var bytes = new byte[CloopHeader.Size];
            file.Read(0, bytes);
            var header = CloopHeader.Parse(bytes);
            if (header.BlockSizeError() is { } sizeError)
            {
                throw new InvalidImageException(sizeError, CloopHeader.Size - 8);
            }

            if (header.BlockCountError() is { } countError)
            {
                throw new InvalidImageException(countError, CloopHeader.Size - 4);
            }

            if (header.OffsetsBytes == 0)
            {
                // QEMU's 32-bit table size wraps to zero for this one count, and its allocation of nothing fails.
                throw new ImageAccessException("Could not allocate offsets table");
            }

            var offsets = CloopOffsets.Load(file, header.BlockCount);
            return new CloopImage(file, options, header, offsets);
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
        Format = CloopFormat.Instance.Name,
        VirtualSize = Length,
        ActualSize = _file.AllocatedSize,
    };

    /// <summary>Copies from each block in turn, inflating the blocks that are not the one kept.</summary>
    public void Read(long offset, Span<byte> buffer)
    {
        HostMappedIo.CheckRange(Length, offset, buffer.Length);
        var blockSize = (long)_header.BlockSize;
        lock (_lock)
        {
            while (!buffer.IsEmpty)
            {
                var into = (int)(offset % blockSize);
                var n = (int)Math.Min(buffer.Length, blockSize - into);
                var block = Inflated(offset / blockSize);
                block.AsSpan(into, n).CopyTo(buffer);
                offset += n;
                buffer = buffer[n..];
            }
        }
    }

    /// <summary>
    /// Block <paramref name="index"/>, inflated; any failure (a read QEMU's block layer refuses, data that is not zlib,
    /// a stream that does not end with exactly one block) is EIO, as QEMU's read fails.
    /// </summary>
    private byte[] Inflated(long index)
    {
        _block ??= new byte[_header.BlockSize];
        if (_cachedBlock == index)
        {
            return _block;
        }

        _cachedBlock = -1;
        var (start, end) = _offsets.Block(index);

        // QEMU takes the size in 32 bits; the table checks at open keep it far below that.
        var size = unchecked((uint)(end - start));
        if (start > MaxFileOffset || size > MaxFileOffset - start)
        {
            throw IoError();
        }

        var inFile = (int)Math.Clamp(_file.Length - (long)start, 0, size);
        var compressed = new byte[inFile];
        _file.Read((long)start, compressed);
        if (!ZlibChunk.TryInflate(new ZeroPaddedStream(compressed, size), _block))
        {
            throw IoError();
        }

        _cachedBlock = index;
        return _block;
    }

    private static ErrnoException IoError() => new(EIO, IO.ErrnoText.Strerror(EIO));

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
