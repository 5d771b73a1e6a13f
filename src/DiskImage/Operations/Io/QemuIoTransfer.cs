using System.Buffers;
using System.Diagnostics;
using DiskImage.Formats;

namespace DiskImage.Operations.Io;

/// <summary>
/// The data movement behind read, write and their vectored and aio forms, in bounded chunks so a large
/// request never means a large buffer.
/// </summary>
internal static class QemuIoTransfer
{
    /// <summary>
    /// qemu-io hands the whole range to the block layer as one request. Up to 32 MiB (the largest request QEMU's nbd
    /// driver sends as one) a range is one chunk here too, so a server sees the requests qemu-io's would; beyond that a
    /// range still never becomes one huge buffer.
    /// </summary>
    private const int ChunkSize = 32 << 20;

    /// <summary>What a read found.</summary>
    /// <param name="Error">Negative errno when the read failed, else 0.</param>
    /// <param name="Mismatch">The pattern window held another byte.</param>
    /// <param name="Elapsed">Time the read took.</param>
    /// <param name="Dump">Lines of the hex dump, when one was asked for.</param>
    public readonly record struct ReadResult(int Error, bool Mismatch, TimeSpan Elapsed, List<string> Dump);

    /// <summary>
    /// Reads a range, checking the <c>[patternOffset, +patternLength)</c> window against a pattern and dumping when
    /// asked; with <paramref name="vmState"/> the range lies in the VM state area (<c>read -b</c>), not the disk.
    /// </summary>
    public static ReadResult Read(IDiskImage image, long offset, long count, byte? pattern, long patternOffset, long patternLength, bool dump, bool vmState = false)
    {
        var lines = new List<string>();
        if (!vmState && Commands.LengthCommand.NoMedium(image))
        {
            // QEMU's block backend asks for a medium before it looks at the range.
            return new ReadResult(-ErrnoException.ENOMEDIUM, false, TimeSpan.Zero, lines);
        }

        if (vmState ? image is not IVmStateArea : !QemuIoArguments.InRange(image.Length, offset, count))
        {
            // Without a VM state area of its own, the request reaches the protocol, which has none either.
            return new ReadResult(vmState ? QemuIoErrno.ENOTSUP : QemuIoErrno.EIO, false, TimeSpan.Zero, lines);
        }

        var mismatch = false;
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(ChunkSize, Math.Max(count, 1)));
        var clock = Stopwatch.StartNew();
        try
        {
            for (long done = 0; done < count;)
            {
                var length = (int)Math.Min(buffer.Length, count - done);
                var chunk = buffer.AsMemory(0, length);
                if (vmState)
                {
                    ((IVmStateArea)image).ReadVmState(offset + done, chunk.Span);
                }
                else
                {
                    image.Read(offset + done, chunk.Span);
                }

                if (pattern is { } expected && !mismatch)
                {
                    var from = Math.Max(done, patternOffset);
                    var to = Math.Min(done + length, patternOffset + patternLength);
                    mismatch = from < to && chunk.Span[(int)(from - done)..(int)(to - done)].ContainsAnyExcept(expected);
                }

                if (dump)
                {
                    lines.AddRange(QemuIoText.Dump(chunk, offset + done));
                }

                done += length;
            }
        }
        catch (Exception e) when (QemuIoErrno.IsIoFailure(e))
        {
            return new ReadResult(QemuIoErrno.From(e), false, clock.Elapsed, lines);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new ReadResult(0, mismatch, clock.Elapsed, lines);
    }

    /// <summary>Writes <paramref name="count"/> bytes produced by <paramref name="fill"/> (given the position within the request); returns 0 or a negative errno.</summary>
    public static int Write(IDiskImage image, long offset, long count, Action<long, Span<byte>> fill, bool forceUnitAccess, out TimeSpan elapsed)
    {
        var clock = Stopwatch.StartNew();
        var result = Run(image, offset, count, () =>
        {
            WriteChunks(count, fill, (done, chunk) => image.Write(offset + done, chunk));
            if (forceUnitAccess && image is Formats.Raw.RawImage { File: Formats.Filters.LogWrites.LogWritesStorage logWrites })
            {
                // QEMU emulates FUA with a flush that, like the writethrough one, does not count this write yet.
                logWrites.FlushAfterCommand();
            }
            else if (forceUnitAccess)
            {
                image.Flush();
            }
        });
        elapsed = clock.Elapsed;
        return result;
    }

    /// <summary>
    /// <c>write -b</c>: writes the VM state area, flushing afterwards as a write-through cache would not (qemu-io's
    /// default cache is writeback); ENOTSUP for an image without one.
    /// </summary>
    public static int WriteVmState(IDiskImage image, long offset, long count, Action<long, Span<byte>> fill, out TimeSpan elapsed)
    {
        var clock = Stopwatch.StartNew();
        int result;
        if (image is not IVmStateArea area)
        {
            result = QemuIoErrno.ENOTSUP;
        }
        else
        {
            result = Guard(() => WriteChunks(count, fill, (done, chunk) => area.WriteVmState(offset + done, chunk)));
        }

        elapsed = clock.Elapsed;
        return result;
    }

    /// <summary>
    /// Produces <paramref name="count"/> bytes with <paramref name="fill"/> in chunks of at most 32 MiB, handing each chunk
    /// and its position within the request to <paramref name="write"/>.
    /// </summary>
    private static void WriteChunks(long count, Action<long, Span<byte>> fill, SpanWriter write)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(ChunkSize, Math.Max(count, 1)));
        try
        {
            for (long done = 0; done < count;)
            {
                var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, count - done));
                fill(done, chunk);
                write(done, chunk);
                done += chunk.Length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes one chunk found at <paramref name="done"/> bytes into the request.</summary>
    private delegate void SpanWriter(long done, ReadOnlySpan<byte> chunk);

    /// <summary>Writes zeroes without data (<c>write -z</c>), unmapping when allowed.</summary>
    public static int WriteZeroes(IDiskImage image, long offset, long count, bool mayUnmap, IO.Blkdebug.BlkdebugLimits? limits, out TimeSpan elapsed)
    {
        var clock = Stopwatch.StartNew();
        var result = Run(image, offset, count, () =>
        {
            if (limits is null)
            {
                image.WriteZeroes(offset, count, mayUnmap);
                return;
            }

            // Through a blkdebug node with limits: the pieces it refuses as write zeroes are written as zero bytes,
            // which the format allocates as data, as QEMU's fallback does.
            byte[]? zeros = null;
            foreach (var (pieceOffset, length, asZeroes) in limits.SplitWriteZeroes(offset, count))
            {
                if (asZeroes)
                {
                    image.WriteZeroes(pieceOffset, length, mayUnmap);
                }
                else
                {
                    zeros = zeros is null || zeros.Length < length ? new byte[length] : zeros;
                    image.Write(pieceOffset, zeros.AsSpan(0, (int)length));
                }
            }
        });
        elapsed = clock.Elapsed;
        return result;
    }

    /// <summary>Runs an operation on an in-range request, turning library failures into errno values.</summary>
    public static int Run(IDiskImage image, long offset, long count, Action action)
    {
        if (Commands.LengthCommand.NoMedium(image))
        {
            return -ErrnoException.ENOMEDIUM;
        }

        if (!QemuIoArguments.InRange(image.Length, offset, count))
        {
            return QemuIoErrno.EIO;
        }

        return count > 0 ? Guard(action) : 0;
    }

    /// <summary>Runs an operation, turning library failures into errno values.</summary>
    private static int Guard(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (Exception e) when (QemuIoErrno.IsIoFailure(e))
        {
            return QemuIoErrno.From(e);
        }
    }

    /// <summary>A filler repeating one byte.</summary>
    public static Action<long, Span<byte>> Fill(byte pattern) => (_, span) => span.Fill(pattern);
}
