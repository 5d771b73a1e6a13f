using System.Buffers;
using System.Diagnostics;
using DiskImage.Formats;

namespace DiskImage.Operations.Io;

/// <summary>
/// Runs qemu-io commands against an open image and describes each outcome the way qemu-io prints it.
/// Transfers go in bounded chunks, so a large length never means a large buffer (except for <c>read -v</c>,
/// which dumps as it goes).
/// </summary>
public sealed class QemuIoSession
{
    private const int ChunkSize = 1 << 20;
    private const string IoError = "Input/output error";

    private readonly IDiskImage _image;

    public QemuIoSession(IDiskImage image) => _image = image ?? throw new ArgumentNullException(nameof(image));

    /// <summary>Parses and runs one command line.</summary>
    public IoCommandOutcome Execute(string commandLine)
    {
        QemuIoCommand command;
        try
        {
            command = QemuIoCommandParser.Parse(commandLine);
        }
        catch (QemuIoSyntaxException e)
        {
            return e.ToStandardOutput ? new IoCommandOutcome([e.Message], null, true) : new IoCommandOutcome([], e.Message, true);
        }

        return Execute(command);
    }

    /// <summary>Runs one parsed command.</summary>
    public IoCommandOutcome Execute(QemuIoCommand command) => command switch
    {
        QemuIoRead read => Read(read),
        QemuIoWrite write => Transfer("write", "wrote", write.Offset, write.Length, write.Quiet, () => Write(write)),
        QemuIoDiscard discard => Transfer("discard", "discard", discard.Offset, discard.Length, discard.Quiet,
            () => _image.Discard(discard.Offset, discard.Length)),
        QemuIoFlush => Flush(),
        QemuIoInfo => Info(),
        QemuIoLength => new IoCommandOutcome([QemuIoText.Size(_image.Length)], null, false),
        QemuIoSleep sleep => sleep.Run(),
        _ => throw new ArgumentException($"Unknown command type {command.GetType().Name}", nameof(command)),
    };

    private IoCommandOutcome Read(QemuIoRead read)
    {
        if (!InRange(read.Offset, read.Length))
        {
            return new IoCommandOutcome([$"read failed: {IoError}"], null, true);
        }

        var output = new List<string>();
        var dump = new List<string>();
        var mismatch = false;
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(ChunkSize, Math.Max(read.Length, 1)));
        var clock = Stopwatch.StartNew();
        try
        {
            for (long done = 0; done < read.Length;)
            {
                var count = (int)Math.Min(buffer.Length, read.Length - done);
                var chunk = buffer.AsMemory(0, count);
                _image.Read(read.Offset + done, chunk.Span);
                if (read.Pattern is { } pattern && !mismatch)
                {
                    // Only the -s/-l window of the read is verified.
                    var from = Math.Max(done, read.PatternOffset);
                    var to = Math.Min(done + count, read.PatternOffset + read.PatternLength);
                    mismatch = from < to && chunk.Span[(int)(from - done)..(int)(to - done)].ContainsAnyExcept(pattern);
                }

                if (read.Dump)
                {
                    dump.AddRange(QemuIoText.Dump(chunk, read.Offset + done));
                }

                done += count;
            }
        }
        catch (Exception e) when (e is DiskImageException or IOException)
        {
            return new IoCommandOutcome([$"read failed: {e.Message}"], null, true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        clock.Stop();
        if (mismatch)
        {
            output.Add($"Pattern verification failed at offset {read.Offset + read.PatternOffset}, {read.PatternLength} bytes");
        }

        output.AddRange(dump);
        if (!read.Quiet)
        {
            output.AddRange(QemuIoText.Report("read", read.Length, read.Offset, clock.Elapsed));
        }

        return new IoCommandOutcome(output, null, mismatch);
    }

    private void Write(QemuIoWrite write)
    {
        if (write.Zero)
        {
            _image.WriteZeroes(write.Offset, write.Length, write.Unmap);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(ChunkSize, Math.Max(write.Length, 1)));
        try
        {
            buffer.AsSpan().Fill(write.Pattern);
            for (long done = 0; done < write.Length;)
            {
                var count = (int)Math.Min(buffer.Length, write.Length - done);
                _image.Write(write.Offset + done, buffer.AsSpan(0, count));
                done += count;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private IoCommandOutcome Transfer(string name, string verb, long offset, long length, bool quiet, Action action)
    {
        if (!_image.CanWrite)
        {
            return new IoCommandOutcome([], "Block node is read-only", true);
        }

        if (!InRange(offset, length))
        {
            return new IoCommandOutcome([$"{name} failed: {IoError}"], null, true);
        }

        var clock = Stopwatch.StartNew();
        try
        {
            if (length > 0)
            {
                action();
            }
        }
        catch (Exception e) when (e is DiskImageException or IOException)
        {
            return new IoCommandOutcome([$"{name} failed: {e.Message}"], null, true);
        }

        clock.Stop();
        return new IoCommandOutcome(quiet ? [] : [.. QemuIoText.Report(verb, length, offset, clock.Elapsed)], null, false);
    }

    private IoCommandOutcome Flush()
    {
        try
        {
            _image.Flush();
            return new IoCommandOutcome([], null, false);
        }
        catch (Exception e) when (e is DiskImageException or IOException)
        {
            return new IoCommandOutcome([], $"flush failed: {e.Message}", true);
        }
    }

    private IoCommandOutcome Info()
    {
        var info = _image.GetInfo();
        var clusterSize = info.ClusterSize ?? 0;
        var extendedL2 = (info.FormatSpecific as Formats.Qcow2.Qcow2SpecificInfo)?.ExtendedL2 == true;

        // qcow2 keeps VM state right after the guest data, at the first L1 entry past the disk.
        var vmStateOffset = 0L;
        if (info.Format == "qcow2" && clusterSize > 0)
        {
            var bytesPerL1Entry = (long)clusterSize * (clusterSize / (extendedL2 ? 16 : 8));
            vmStateOffset = Measure.Qcow2Layout.DivideRoundingUp(info.VirtualSize, bytesPerL1Entry) * bytesPerL1Entry;
        }

        List<string> lines =
            [$"format name: {info.Format}", $"cluster size: {QemuIoText.Size(clusterSize)}", $"vm state offset: {QemuIoText.Size(vmStateOffset)}"];
        if (info.FormatSpecific is Formats.Qcow2.Qcow2SpecificInfo qcow2)
        {
            lines.AddRange(Qcow2Lines(qcow2));
        }

        return new IoCommandOutcome(lines, null, false);
    }

    /// <summary>The "Format specific information" block qemu prints for qcow2; version-3-only fields are absent for version 2.</summary>
    private static IEnumerable<string> Qcow2Lines(Formats.Qcow2.Qcow2SpecificInfo qcow2)
    {
        yield return "Format specific information:";
        yield return $"    compat: {qcow2.Compat}";
        yield return $"    compression type: {qcow2.CompressionType}";
        if (qcow2.LazyRefcounts is { } lazy)
        {
            yield return $"    lazy refcounts: {Bool(lazy)}";
        }

        yield return $"    refcount bits: {qcow2.RefcountBits}";
        if (qcow2.DataFile is not null)
        {
            yield return $"    data file: {qcow2.DataFile}";
        }

        if (qcow2.DataFileRaw is { } raw)
        {
            yield return $"    data file raw: {Bool(raw)}";
        }

        if (qcow2.Corrupt is { } corrupt)
        {
            yield return $"    corrupt: {Bool(corrupt)}";
        }

        if (qcow2.ExtendedL2 is { } extended)
        {
            yield return $"    extended l2: {Bool(extended)}";
        }
    }

    private static string Bool(bool value) => value ? "true" : "false";

    private bool InRange(long offset, long length) => offset >= 0 && length >= 0 && offset <= _image.Length - length;
}
