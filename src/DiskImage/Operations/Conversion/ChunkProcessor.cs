using System.Buffers;
using DiskImage.Formats;
using DiskImage.Formats.Raw;

namespace DiskImage.Operations.Conversion;

/// <summary>
/// The worker side of the copy: reads one chunk's data, finds its zero runs and compresses its
/// clusters, and says what to write. Thread-safe: any number of chunks may be processed at once.
/// </summary>
internal sealed class ChunkProcessor
{
    /// <summary>EIO: the errno a format's read failure carries.</summary>
    private const int ReadFailureErrno = 5;

    private readonly SourceLayout _layout;
    private readonly CopyTarget _target;
    private readonly long _minSparse;
    private readonly bool[] _offloadable;
    private readonly Action<string>? _salvageWarning;
    private readonly int _sparseAlignment;
    private readonly bool _fileCopy;

    public ChunkProcessor(SourceLayout layout, CopyTarget target, ConvertOptions options)
    {
        _layout = layout;
        _target = target;
        _minSparse = options.MinSparseSize;
        _salvageWarning = options.SalvageWarning;
        _sparseAlignment = SparseAlignment(target, _minSparse);

        // Salvaging reads every sector itself, so that what fails can be told apart from what succeeds.
        var offload = options.CopyOffload && _salvageWarning is null && !options.Compress && target.RawFile is not null && IO.LinuxFileCalls.IsAvailable;
        _offloadable = [.. layout.Sources.Select(s => offload && s is RawImage { File: IO.HostFile })];

        // With -C, data runs that lie plainly in a source file are copied from it inside the kernel after the zero scan
        // has read them, rather than written from the buffer.
        _fileCopy = options.CopyScannedData && _salvageWarning is null && !options.Compress && target.Image is IFileCopyTarget && IO.LinuxFileCalls.IsAvailable;
    }

    private bool FullyAllocate => _minSparse == 0;

    public ChunkResult Process(CopyWork work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var writes = new List<WriteOp>();
        if (work.LeftToBacking)
        {
            return new ChunkResult(work, null, null, writes);
        }

        if (work.IsZeroRange)
        {
            AddZeroRange(writes, work.TargetOffset, work.Length);
            return new ChunkResult(work, null, null, writes);
        }

        if (work.Pieces.All(p => !p.IsData || _offloadable[p.SourceIndex]))
        {
            foreach (var piece in work.Pieces)
            {
                if (piece.IsData)
                {
                    writes.Add(new WriteOp(WriteOpKind.CopyRange, piece.TargetOffset, piece.Length, SourceIndex: piece.SourceIndex, SourceOffset: piece.SourceOffset));
                }
                else if (!piece.IsBacking)
                {
                    AddZeroRange(writes, piece.TargetOffset, piece.Length);
                }
            }

            return new ChunkResult(work, null, null, writes);
        }

        var length = checked((int)work.Length);
        var unit = _target.Compressor?.ClusterSize ?? _target.ZeroUnit;
        var padded = _target.Compressor is null ? length : (length + unit - 1) / unit * unit;
        var buffer = ArrayPool<byte>.Shared.Rent(padded + IoAlignment.Bytes);
        var bufferStart = IoAlignment.Start(buffer);
        byte[]? compressed = null;
        try
        {
            var data = buffer.AsSpan(bufferStart, padded);
            data[length..].Clear();
            foreach (var piece in work.Pieces)
            {
                var slice = data.Slice((int)(piece.TargetOffset - work.TargetOffset), (int)piece.Length);
                if (piece.IsData)
                {
                    ReadPiece(piece, slice);
                }
                else
                {
                    slice.Clear();
                }
            }

            // Runs left to the target's backing file are not written; what lies between them is planned as usual.
            var used = 0;
            foreach (var (start, end) in WrittenSegments(work))
            {
                if (_target.Compressor is { } compressor)
                {
                    compressed ??= ArrayPool<byte>.Shared.Rent(padded);
                    used = PlanCompressed(compressor, work.TargetOffset, data, start, Math.Min(end, length), compressed, used, writes);
                }
                else
                {
                    PlanSparse(work, data[start..end], start, unit, writes);
                }
            }

            var result = new ChunkResult(work, buffer, compressed, writes) { BufferStart = bufferStart, FileRuns = _fileCopy ? FileRunsOf(work) : null };
            buffer = null;
            compressed = null;
            return result;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (compressed is not null)
            {
                ArrayPool<byte>.Shared.Return(compressed);
            }
        }
    }

    /// <summary>Where the chunk's data pieces lie in host files, merged where they follow on; null when nowhere.</summary>
    private List<FileRun>? FileRunsOf(CopyWork work)
    {
        List<FileRun>? runs = null;
        foreach (var piece in work.Pieces)
        {
            if (!piece.IsData || _layout.Sources[piece.SourceIndex] is not IHostFileRuns source)
            {
                continue;
            }

            var bufferOffset = (int)(piece.TargetOffset - work.TargetOffset);
            for (var done = 0L; done < piece.Length;)
            {
                var run = source.GetHostFileRun(piece.SourceOffset + done, piece.Length - done);
                if (run.Length <= 0)
                {
                    break;
                }

                var length = (int)Math.Min(run.Length, piece.Length - done);
                if (run.File is { } file)
                {
                    runs ??= [];
                    var start = bufferOffset + (int)done;
                    if (runs.Count > 0 && runs[^1] is var last && last.End == start && ReferenceEquals(last.File, file) && last.FileOffset + last.Length == run.FileOffset)
                    {
                        runs[^1] = last with { Length = last.Length + length };
                    }
                    else
                    {
                        runs.Add(new FileRun(start, length, file, run.FileOffset));
                    }
                }

                done += length;
            }
        }

        return runs;
    }

    /// <summary>A range the sources hold no data for.</summary>
    private void AddZeroRange(List<WriteOp> writes, long offset, long length)
    {
        if (FullyAllocate)
        {
            writes.Add(new WriteOp(WriteOpKind.ZeroBytes, offset, length));
        }
        else if (!_target.StartsZeroed)
        {
            writes.Add(new WriteOp(WriteOpKind.Zeroes, offset, length));
        }
    }

    /// <summary>Writes data runs; zero runs of at least <c>-S</c> bytes are left out (or zeroed when the target is not zeroed).</summary>
    /// <summary>
    /// Reads one piece. With <c>--salvage</c> a failed read is retried sector by sector, and each sector that still
    /// fails reads as zeroes, with a warning naming its source offset (as qemu-img convert --salvage does).
    /// </summary>
    private void ReadPiece(SourceSpan piece, Span<byte> slice)
    {
        var source = _layout.Sources[piece.SourceIndex];
        if (_salvageWarning is not { } warn)
        {
            try
            {
                source.Read(piece.SourceOffset, slice);
            }
            catch (IOException e) when (e.HResult > 0)
            {
                // qemu-img's words for a source read that fails with an errno, naming where the read began.
                throw new ImageAccessException($"error while reading at byte {piece.TargetOffset}: {IO.ErrnoText.Strerror(e.HResult)}", e);
            }
            catch (ErrnoException e) when (e.Errno == ReadFailureErrno)
            {
                // A format's own read failure (a cloop block that does not inflate, a Bochs extent out of reach).
                throw new ImageAccessException($"error while reading at byte {piece.TargetOffset}: {IO.ErrnoText.Strerror(e.Errno)}", e);
            }

            return;
        }

        try
        {
            source.Read(piece.SourceOffset, slice);
            return;
        }
        catch (Exception e) when (IsReadError(e))
        {
        }

        const int Sector = 512;
        for (var done = 0; done < slice.Length; done += Sector)
        {
            var sector = slice.Slice(done, Math.Min(Sector, slice.Length - done));
            try
            {
                source.Read(piece.SourceOffset + done, sector);
            }
            catch (Exception e) when (IsReadError(e))
            {
                sector.Clear();
                warn($"error while reading offset {piece.SourceOffset + done}: {e.Message}");
            }
        }
    }

    private static bool IsReadError(Exception e) => e is IOException or DiskImageException or InvalidDataException;

    /// <summary>
    /// The parts of the chunk to write, as offsets into its buffer: all of it, unless some pieces are left to the
    /// target's backing file (with compression those pieces are whole clusters, see <see cref="OverlaySpans"/>).
    /// </summary>
    private static List<(int Start, int End)> WrittenSegments(CopyWork work)
    {
        var segments = new List<(int Start, int End)>(1);
        var start = -1;
        foreach (var piece in work.Pieces)
        {
            var offset = (int)(piece.TargetOffset - work.TargetOffset);
            if (piece.IsBacking)
            {
                if (start >= 0)
                {
                    segments.Add((start, offset));
                    start = -1;
                }
            }
            else if (start < 0)
            {
                start = offset;
            }
        }

        if (start >= 0)
        {
            segments.Add((start, (int)work.Length));
        }

        return segments;
    }

    /// <summary>
    /// qemu-img aligns the data runs it writes to <c>-S</c> (rounded down to a power of two) so that zero runs shorter
    /// than a block do not split writes. Where the target's own zero unit is at least that large the unit already
    /// gives the same allocation, and so does a raw target's 512-byte unit up to the 4 KiB block the host file system
    /// allocates: zero there means no alignment pass (the default <c>-S 4k</c> into qcow2 or raw).
    /// </summary>
    private static int SparseAlignment(CopyTarget target, long minSparse)
    {
        if (minSparse <= 0 || target.Compressor is not null)
        {
            return 0;
        }

        var alignment = (int)Math.Min(1L << System.Numerics.BitOperations.Log2((ulong)minSparse), int.MaxValue / 2 + 1);
        var unit = target.ZeroUnit;
        var sameAsUnit = alignment <= unit || (unit == 512 && alignment <= 4096 && alignment == minSparse);
        return sameAsUnit ? 0 : alignment;
    }

    private void PlanSparse(CopyWork work, ReadOnlySpan<byte> data, int bufferBase, int unit, List<WriteOp> writes)
    {
        var targetOffset = work.TargetOffset + bufferBase;
        var aligned = _sparseAlignment > 0 && !FullyAllocate && targetOffset % 512 == 0;
        if (aligned)
        {
            unit = 512;
        }

        var units = ZeroScan.UnitCount(data.Length, unit);
        var flags = ArrayPool<bool>.Shared.Rent(units);
        try
        {
            var isZero = flags.AsSpan(0, units);
            if (FullyAllocate)
            {
                isZero.Clear();
            }
            else
            {
                ZeroScan.MarkZeroUnits(data, unit, isZero);
                if (aligned)
                {
                    AlignDataRuns(work, bufferBase, data.Length, isZero);
                }
            }

            var pendingStart = -1;
            var i = 0;
            while (i < units)
            {
                var runEnd = i;
                while (runEnd < units && isZero[runEnd] == isZero[i])
                {
                    runEnd++;
                }

                var start = i * unit;
                var end = Math.Min(runEnd * unit, data.Length);
                if (isZero[i] && (aligned || end - start >= _minSparse))
                {
                    FlushData(pendingStart, start);
                    pendingStart = -1;
                    if (!_target.StartsZeroed)
                    {
                        writes.Add(new WriteOp(WriteOpKind.Zeroes, targetOffset + start, end - start));
                    }
                }
                else if (pendingStart < 0)
                {
                    pendingStart = start;
                }

                i = runEnd;
            }

            FlushData(pendingStart, data.Length);
        }
        finally
        {
            ArrayPool<bool>.Shared.Return(flags);
        }

        void FlushData(int start, int end)
        {
            if (start >= 0 && end > start)
            {
                writes.Add(new WriteOp(WriteOpKind.Data, targetOffset + start, end - start, BufferOffset: bufferBase + start));
            }
        }
    }

    /// <summary>
    /// Runs qemu-img's alignment over each run of source data in the segment <c>[bufferBase, bufferBase + length)</c>
    /// of the chunk (adjacent data pieces form one run); what the sources hold no data for stays zero.
    /// </summary>
    private void AlignDataRuns(CopyWork work, int bufferBase, int length, Span<bool> isZero)
    {
        var firstSector = (work.TargetOffset + bufferBase) / 512;
        var alignment = _sparseAlignment / 512;
        var minimum = (int)(_minSparse / 512);
        var runStart = -1;
        var runEnd = -1;
        foreach (var piece in work.Pieces)
        {
            var start = (int)(piece.TargetOffset - work.TargetOffset) - bufferBase;
            var end = start + (int)piece.Length;
            if (!piece.IsData || end <= 0 || start >= length)
            {
                continue;
            }

            start = Math.Max(start, 0) / 512;
            end = ZeroScan.UnitCount(Math.Min(end, length), 512);
            if (runStart >= 0 && start <= runEnd)
            {
                runEnd = Math.Max(runEnd, end);
                continue;
            }

            if (runStart >= 0)
            {
                ZeroScan.AlignDataRun(isZero, runStart, runEnd, firstSector, alignment, minimum);
            }

            runStart = start;
            runEnd = end;
        }

        if (runStart >= 0)
        {
            ZeroScan.AlignDataRun(isZero, runStart, runEnd, firstSector, alignment, minimum);
        }
    }

    /// <summary>
    /// Compresses each cluster of <c>[first, length)</c> (cluster-aligned in the buffer) into <paramref name="output"/> from
    /// <paramref name="used"/> on; zero clusters are skipped, clusters that do not shrink are written plainly. A VMDK's
    /// last grain, where the disk ends inside it, is compressed only up to the disk's end, as QEMU compresses it.
    /// Returns the bytes of <paramref name="output"/> now used.
    /// </summary>
    private int PlanCompressed(ICompressedClusterWriter compressor, long targetOffset, ReadOnlySpan<byte> data, int first, int length, byte[] output, int used, List<WriteOp> writes)
    {
        var cluster = compressor.ClusterSize;
        for (var start = first; start < length; start += cluster)
        {
            var clusterData = data.Slice(start, cluster);
            var valid = Math.Min(cluster, length - start);
            if (!FullyAllocate && clusterData.IndexOfAnyExcept((byte)0) < 0)
            {
                if (!_target.StartsZeroed)
                {
                    writes.Add(new WriteOp(WriteOpKind.Zeroes, targetOffset + start, valid));
                }
            }
            else if (compressor.TryCompressCluster(compressor is Formats.Vmdk.VmdkImage ? clusterData[..valid] : clusterData, output.AsSpan(used, cluster), out var written))
            {
                writes.Add(new WriteOp(WriteOpKind.Compressed, targetOffset + start, written, BufferOffset: used));
                used += written;
            }
            else
            {
                writes.Add(new WriteOp(WriteOpKind.Data, targetOffset + start, valid, BufferOffset: start));
            }
        }

        return used;
    }
}
