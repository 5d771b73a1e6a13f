using DiskImage.Formats.Qcow2;
using DiskImage.IO.Blkdebug;

namespace DiskImage.Operations.Io.Commands;

/// <summary><c>aio_write [-Cfiquz] [-P pattern] off len [len..]</c>; completes before the next command starts.</summary>
internal static class AioWriteCommand
{
    public static readonly QemuIoCommandInfo Info = new("aio_write", null, "[-Cfiquz] [-P pattern] off len [len..]",
        "asynchronously writes a number of bytes", 2, -1, Run, NeedsWrite: true,
        Help: "Writes like writev (or zeroes with -z, unmapping with -u); the request completes at once here, except where a blkdebug breakpoint holds it.");

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        if (session.Breakpoints is not { } breakpoints)
        {
            return WritevCommand.VectoredWrite(session, words, output, Info, "CfiqP:uz", aio: true);
        }

        // Under blkdebug the request's lines wait for its completion, which a breakpoint may hold back.
        var completion = new QemuIoOutput();
        if (session.Image is Qcow2Image { File: BlkdebugStorage node } qcow2 && Request(words) is { } qcow2Request)
        {
            // qcow2 raises its own events on the node below it; they are recorded as the write runs.
            var allocation = qcow2.AllocatingClusters(qcow2Request.Offset, qcow2Request.Count);
            var events = new List<BlkdebugEvent>();
            node.Recorder = events;
            int written;
            try
            {
                written = WritevCommand.VectoredWrite(session, words, completion, Info, "CfiqP:uz", aio: true);
            }
            finally
            {
                node.Recorder = null;
            }

            breakpoints.SubmitDone(qcow2Request.Offset, qcow2Request.Count, allocation, events.ConvertAll(BlkdebugEvents.Name), completion.Lines, output);
            return written;
        }

        var ret = WritevCommand.VectoredWrite(session, words, completion, Info, "CfiqP:uz", aio: true);
        if (Request(words) is { } request)
        {
            breakpoints.SubmitWrite(request.Offset, request.Count, request.Zero, completion.Lines, output);
        }
        else
        {
            BlkdebugBreakpoints.SubmitNothing(completion.Lines, output);
        }

        return ret;
    }

    /// <summary>Offset, summed length and <c>-z</c> of a well-formed request (null otherwise, which raises no events).</summary>
    private static (long Offset, long Count, bool Zero)? Request(string[] words)
    {
        var (options, operands) = QemuIoGetopt.Parse(words, "CfiqP:uz", new QemuIoOutput());
        if (operands.Count < 2 || options.Any(o => o.Letter == 'i') || !QemuIoNumber.TryParse(operands[0], out var offset))
        {
            return null;
        }

        long count = 0;
        foreach (var operand in operands.Skip(1))
        {
            if (!QemuIoNumber.TryParse(operand, out var length) || length <= 0)
            {
                return null;
            }

            count += length;
        }

        return (offset, count, options.Any(o => o.Letter == 'z'));
    }
}
