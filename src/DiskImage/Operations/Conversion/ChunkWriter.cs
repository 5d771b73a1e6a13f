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

    private void Apply(Formats.IDiskImage image, ChunkResult result, WriteOp op, CancellationToken cancellationToken)
    {
        switch (op.Kind)
        {
            case WriteOpKind.Data:
                var data = result.Buffer.AsSpan(result.BufferStart + op.BufferOffset, (int)op.Length);
                if (result.FileRuns is not { } runs || image is not IFileCopyTarget copyTarget || !TryWriteCopying(copyTarget, op, data, runs))
                {
                    image.Write(op.TargetOffset, data);
                }

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

    /// <summary>
    /// Writes a data run whose parts lie in source files by copying those parts from the files inside the kernel, the
    /// rest from the buffer. The write is split where the runs begin and end, so it is done only when every split falls
    /// on the target's allocation unit (a qcow2 cluster is then still written whole, once); false leaves it to the caller.
    /// </summary>
    private bool TryWriteCopying(IFileCopyTarget copyTarget, WriteOp op, ReadOnlySpan<byte> data, IReadOnlyList<FileRun> runs)
    {
        var start = op.BufferOffset;
        var end = start + (int)op.Length;
        var unit = target.ZeroUnit;
        var any = false;
        foreach (var run in runs)
        {
            if (run.End <= start || run.BufferOffset >= end)
            {
                continue;
            }

            any = true;
            if ((run.BufferOffset > start && (op.TargetOffset + run.BufferOffset - start) % unit != 0)
                || (run.End < end && (op.TargetOffset + run.End - start) % unit != 0))
            {
                return false;
            }
        }

        if (!any)
        {
            return false;
        }

        var position = start;
        foreach (var run in runs)
        {
            if (run.End <= start || run.BufferOffset >= end)
            {
                continue;
            }

            var from = Math.Max(run.BufferOffset, start);
            var to = Math.Min(run.End, end);
            if (from > position)
            {
                target.Image.Write(op.TargetOffset + position - start, data[(position - start)..(from - start)]);
            }

            copyTarget.WriteCopying(op.TargetOffset + from - start, data[(from - start)..(to - start)], run.File, run.FileOffset + from - run.BufferOffset);
            position = to;
        }

        if (position < end)
        {
            target.Image.Write(op.TargetOffset + position - start, data[(position - start)..]);
        }

        return true;
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
