using System.Buffers;
using DiskImage.Formats;
using DiskImage.Formats.Raw;
using DiskImage.IO;

namespace DiskImage.Operations.Conversion;

/// <summary>Applies processed chunks to the target.</summary>
internal sealed class ChunkWriter(SourceLayout layout, CopyTarget target)
{
    private const int ZeroBlock = 1 << 20;
    private static readonly byte[] s_zeroes = new byte[ZeroBlock];
    private bool _copyFileRangeWorks = true;

    public void Apply(ChunkResult result, CancellationToken cancellationToken)
    {
        var image = target.Image;
        foreach (var op in result.Writes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                Apply(image, result, op, cancellationToken);
            }
            catch (IOException e)
            {
                // qemu-img convert's words for a failed write, with the C library's text for the cause.
                throw new ImageAccessException($"error while writing at byte {op.TargetOffset}: {IO.ErrnoText.Describe(e)}", e);
            }
        }
    }

    /// <summary>
    /// Takes the target's host space for every write of a chunk, in the order <see cref="Apply(ChunkResult, CancellationToken)"/>
    /// would allocate it; null when the target cannot take space ahead or the chunk holds other than data writes
    /// (nothing is then taken, and the chunk is applied as usual).
    /// </summary>
    public IReservedWrite?[]? TryReserve(ChunkResult result)
    {
        if (target.Image is not IReservingWriter reserving || result.Writes.Count == 0 || result.Writes.Any(op => op.Kind != WriteOpKind.Data))
        {
            return null;
        }

        var reserved = new IReservedWrite?[result.Writes.Count];
        for (var i = 0; i < reserved.Length; i++)
        {
            var op = result.Writes[i];
            reserved[i] = reserving.TryReserve(op.TargetOffset, (int)op.Length);
            if (reserved[i] is null)
            {
                Abort(reserved, 0);
                return null;
            }
        }

        return reserved;
    }

    /// <summary>Writes a chunk whose space <see cref="TryReserve"/> took; on failure the space not yet written is given back.</summary>
    public void WriteReserved(ChunkResult result, IReservedWrite?[] reserved, CancellationToken cancellationToken)
    {
        var next = 0;
        try
        {
            for (; next < reserved.Length; next++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var op = result.Writes[next];
                var write = reserved[next]!;
                reserved[next] = null;
                try
                {
                    write.Write(result.Buffer.AsSpan(result.BufferStart + op.BufferOffset, (int)op.Length));
                }
                catch (IOException e)
                {
                    throw new ImageAccessException($"error while writing at byte {op.TargetOffset}: {IO.ErrnoText.Describe(e)}", e);
                }
            }
        }
        catch
        {
            Abort(reserved, next);
            throw;
        }
    }

    private static void Abort(IReservedWrite?[] reserved, int from)
    {
        for (var i = from; i < reserved.Length; i++)
        {
            reserved[i]?.Abort();
            reserved[i] = null;
        }
    }

    private void Apply(Formats.IDiskImage image, ChunkResult result, WriteOp op, CancellationToken cancellationToken)
    {
        switch (op.Kind)
        {
            case WriteOpKind.Data:
                image.Write(op.TargetOffset, result.Buffer.AsSpan(result.BufferStart + op.BufferOffset, (int)op.Length));
                break;
            case WriteOpKind.Compressed:
                target.Compressor!.WriteCompressedCluster(op.TargetOffset, result.Compressed.AsSpan(op.BufferOffset, (int)op.Length));
                break;
            case WriteOpKind.Zeroes:
                image.WriteZeroes(op.TargetOffset, op.Length, mayUnmap: true);
                break;
            case WriteOpKind.ZeroBytes:
                WriteZeroBytes(op.TargetOffset, op.Length, cancellationToken);
                break;
            case WriteOpKind.CopyRange:
                CopyRange(op, cancellationToken);
                break;
            default:
                throw new InvalidOperationException($"Unknown write kind {op.Kind}");
        }
    }

    private void WriteZeroBytes(long offset, long length, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var n = (int)Math.Min(length, ZeroBlock);
            target.Image.Write(offset, s_zeroes.AsSpan(0, n));
            offset += n;
            length -= n;
        }
    }

    /// <summary>In-kernel copy between raw files; falls back to read and write where the kernel refuses.</summary>
    private void CopyRange(WriteOp op, CancellationToken cancellationToken)
    {
        var source = (IO.HostFile)((RawImage)layout.Sources[op.SourceIndex]).File;
        var sourceOffset = op.SourceOffset;
        var targetOffset = op.TargetOffset;
        var remaining = op.Length;
        var destination = target.RawFile!;
        while (remaining > 0 && Volatile.Read(ref _copyFileRangeWorks))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var copied = (long)LinuxFileCalls.CopyFileRange(
                source.Handle.DangerousGetHandle(), ref sourceOffset,
                destination.Handle.DangerousGetHandle(), ref targetOffset,
                (nuint)Math.Min(remaining, 1L << 30), 0);
            if (copied <= 0)
            {
                // EXDEV, ENOSYS, EINVAL on some file systems, or an unexpected end of the source.
                if (copied < 0)
                {
                    Volatile.Write(ref _copyFileRangeWorks, false);
                }

                break;
            }

            remaining -= copied;
            destination.NoteWritten(); // written behind HostFile's back: the next flush must sync it
        }

        if (remaining <= 0)
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(remaining, ZeroBlock));
        try
        {
            while (remaining > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var n = (int)Math.Min(remaining, buffer.Length);
                source.Read(sourceOffset, buffer.AsSpan(0, n));
                target.Image.Write(targetOffset, buffer.AsSpan(0, n));
                sourceOffset += n;
                targetOffset += n;
                remaining -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

}
