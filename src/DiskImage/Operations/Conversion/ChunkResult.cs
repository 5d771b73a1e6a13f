using System.Buffers;

namespace DiskImage.Operations.Conversion;

/// <summary>A processed piece of work: the writes to make and the pooled buffers they point into.</summary>
internal sealed class ChunkResult(CopyWork work, byte[]? buffer, byte[]? compressed, List<WriteOp> writes) : IDisposable
{
    private byte[]? _buffer = buffer;
    private byte[]? _compressed = compressed;

    public CopyWork Work { get; } = work;

    public byte[] Buffer => _buffer ?? [];

    /// <summary>Where the chunk's data starts in <see cref="Buffer"/> (page-aligned; <see cref="WriteOp.BufferOffset"/> counts from here).</summary>
    public int BufferStart { get; init; }

    public byte[] Compressed => _compressed ?? [];

    /// <summary>
    /// Parts of the chunk whose bytes also lie, as read, in a host file (offsets count from <see cref="BufferStart"/>, in
    /// order); the writer copies those from the file inside the kernel. Null when there are none or the target cannot.
    /// </summary>
    public IReadOnlyList<FileRun>? FileRuns { get; init; }

    public IReadOnlyList<WriteOp> Writes { get; } = writes;

    public void Dispose()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        if (_compressed is not null)
        {
            ArrayPool<byte>.Shared.Return(_compressed);
            _compressed = null;
        }
    }
}

/// <summary>Bytes <c>[BufferOffset, BufferOffset + Length)</c> of a chunk, which lie in <paramref name="File"/> at <paramref name="FileOffset"/>.</summary>
internal readonly record struct FileRun(int BufferOffset, int Length, IO.HostFile File, long FileOffset)
{
    public int End => BufferOffset + Length;
}
