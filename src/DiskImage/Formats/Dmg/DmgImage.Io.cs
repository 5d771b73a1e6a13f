using DiskImage.IO;

namespace DiskImage.Formats.Dmg;

public sealed partial class DmgImage
{
    private const int SectorSize = 512;
    private const int EIO = 5;

    /// <summary>The largest file offset a read may reach, as the block layer bounds requests.</summary>
    private const ulong MaxFileOffset = MaxLength;

    private readonly Lock _lock = new();

    /// <summary>
    /// The last chunk read, decompressed: one buffer for every chunk, as QEMU's, so that sectors past a raw chunk's
    /// stored bytes read what the buffer held before (zeroes at first). Sized on first use.
    /// </summary>
    private byte[] _chunkBuffer;

    /// <summary>The chunk <see cref="_chunkBuffer"/> holds (or that reads as zeroes), -1 for none.</summary>
    private int _currentChunk;

    /// <summary>
    /// Reads sector by sector in QEMU's way: the current chunk serves the sectors it covers, any other sector is
    /// looked up and its chunk read whole. A sector no chunk covers, or a chunk that fails to read or decompress,
    /// fails the read with EIO.
    /// </summary>
    public void Read(long offset, Span<byte> buffer)
    {
        HostMappedIo.CheckRange(Length, offset, buffer.Length);
        lock (_lock)
        {
            while (!buffer.IsEmpty)
            {
                var sector = (ulong)(offset / SectorSize);
                var into = (int)(offset % SectorSize);
                LoadChunkLocked(sector);
                var chunk = _currentChunk;
                var chunkEnd = unchecked(_table.Sector(chunk) + _table.SectorCount(chunk));
                var sectorsLeft = Math.Min(chunkEnd - sector, (ulong)(int.MaxValue / SectorSize));
                var available = ((long)sectorsLeft * SectorSize) - into;
                var n = (int)Math.Min(buffer.Length, available);
                var part = buffer[..n];
                if (DmgChunkType.ReadsAsZero(_table.Type(chunk)))
                {
                    part.Clear();
                }
                else
                {
                    CopyFromChunk((long)(sector - _table.Sector(chunk)) * SectorSize + into, part);
                }

                offset += n;
                buffer = buffer[n..];
            }
        }
    }

    /// <summary>The buffer's bytes from <paramref name="at"/>; past its end (QEMU reads beyond its buffer there) zeroes.</summary>
    private void CopyFromChunk(long at, Span<byte> destination)
    {
        var inBuffer = (int)Math.Clamp(_chunkBuffer.Length - at, 0, destination.Length);
        _chunkBuffer.AsSpan((int)Math.Min(at, _chunkBuffer.Length), inBuffer).CopyTo(destination);
        destination[inBuffer..].Clear();
    }

    private void LoadChunkLocked(ulong sector)
    {
        if (_table.Contains(_currentChunk, sector))
        {
            return;
        }

        var chunk = _table.Find(sector);
        _currentChunk = -1;
        if (chunk < 0)
        {
            throw IoError();
        }

        var type = _table.Type(chunk);
        if (type == DmgChunkType.Zlib)
        {
            Inflate(chunk);
        }
        else if (type == DmgChunkType.Raw)
        {
            ReadFile(_table.Offset(chunk), ChunkBuffer().AsSpan(0, (int)_table.Length(chunk)));
        }

        _currentChunk = chunk;
    }

    /// <summary>
    /// A zlib chunk inflates whole into exactly its sector count's bytes: a stream that ends short, runs long or is
    /// damaged fails.
    /// </summary>
    private void Inflate(int chunk)
    {
        var compressed = new byte[_table.Length(chunk)];
        ReadFile(_table.Offset(chunk), compressed);
        var expected = (int)_table.SectorCount(chunk) * SectorSize;
        if (!ZlibChunk.TryInflate(new MemoryStream(compressed, writable: false), ChunkBuffer().AsSpan(0, expected)))
        {
            throw IoError();
        }
    }

    /// <summary>The chunk buffer, sized as QEMU sizes it at open: the largest chunk's sectors.</summary>
    private byte[] ChunkBuffer()
    {
        if (_chunkBuffer.Length == 0)
        {
            _chunkBuffer = new byte[(long)_table.MaxSectorsPerChunk * SectorSize];
        }

        return _chunkBuffer;
    }

    /// <summary>A read of the file, refused as the block layer refuses a request past its largest offset.</summary>
    private void ReadFile(ulong offset, Span<byte> buffer)
    {
        if (offset > MaxFileOffset - (ulong)buffer.Length)
        {
            throw IoError();
        }

        _file.Read((long)offset, buffer);
    }

    /// <summary>A read that fails as QEMU's does: an I/O error carrying its errno.</summary>
    private static IOException IoError() => new("Input/output error", EIO);

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data) => throw ReadOnlyImageIo.Refusal();

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length, bool mayUnmap) => throw ReadOnlyImageIo.Refusal();

    /// <inheritdoc/>
    public void Discard(long offset, long length) => throw ReadOnlyImageIo.Refusal();

    /// <summary>Nothing to flush: nothing is ever written.</summary>
    public void Flush()
    {
    }

    /// <summary>The driver reports no block status: every byte is data, as the block layer then says.</summary>
    public IReadOnlyList<Extent> GetExtents(long offset, long length) => ReadOnlyImageIo.AllData(Length, offset, length);
}
