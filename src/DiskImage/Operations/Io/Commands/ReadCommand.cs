namespace DiskImage.Operations.Io.Commands;

/// <summary><c>read [-abCqv] [-P pattern [-s off] [-l len]] off len</c>; <c>-p</c> is accepted and ignored, <c>-b</c> reads the VM state area (qcow2).</summary>
internal static class ReadCommand
{
    public static readonly QemuIoCommandInfo Info = new("read", "r", "[-abCqv] [-P pattern [-s off] [-l len]] off len",
        "reads a number of bytes at a specified offset", 2, -1, Run,
        Help: "Reads a range of the image. -P checks every byte (or the -s/-l window) against a pattern byte, -v dumps the data, -b reads the VM state area instead of the disk, -q prints nothing on success, -C prints a machine-readable report.");

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        bool machine = false, quiet = false, dump = false, vmState = false, hasWindowStart = false, hasWindowLength = false;
        byte? pattern = null;
        long windowStart = 0, windowLength = 0;
        var (options, operands) = QemuIoGetopt.Parse(words, "bCl:pP:qs:v", output);
        foreach (var (letter, value) in options)
        {
            switch (letter)
            {
                case 'b': vmState = true; break;
                case 'C': machine = true; break;
                case 'p': break;
                case 'q': quiet = true; break;
                case 'v': dump = true; break;
                case 'P':
                    pattern = QemuIoArguments.Pattern(value!, output);
                    if (pattern is null)
                    {
                        return QemuIoErrno.EINVAL;
                    }

                    break;
                case 'l':
                    hasWindowLength = true;
                    if (QemuIoArguments.Number(value!, output) is not { } l)
                    {
                        return QemuIoErrno.EINVAL;
                    }

                    windowLength = l;
                    break;
                case 's':
                    hasWindowStart = true;
                    if (QemuIoArguments.Number(value!, output) is not { } s)
                    {
                        return QemuIoErrno.EINVAL;
                    }

                    windowStart = s;
                    break;
                default:
                    return Info.UsageError(output);
            }
        }

        if (operands.Count != 2)
        {
            return Info.UsageError(output);
        }

        if (QemuIoArguments.OffsetAndCount(operands, output) is not { } request)
        {
            return QemuIoErrno.EINVAL;
        }

        var (offset, count) = request;

        if (pattern is null && (hasWindowLength || hasWindowStart))
        {
            return Info.UsageError(output);
        }

        if (!hasWindowLength)
        {
            windowLength = count - windowStart;
        }

        if (windowLength < 0 || windowLength + windowStart > count)
        {
            output.Out("pattern verification range exceeds end of read data");
            return QemuIoErrno.EINVAL;
        }

        if (vmState)
        {
            if (!QemuIoArguments.SectorAligned(offset, count, output))
            {
                return QemuIoErrno.EINVAL;
            }
        }

        output.Poll();
        return QemuIoReadReport.Run(session.Image!, output, "read", offset, count, pattern, windowStart, windowLength, dump, quiet, machine, failOnMismatch: true, vmState, copyOnRead: session.CopyOnRead, copyNode: session.TopBlkdebugNode);
    }
}
