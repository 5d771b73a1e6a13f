namespace DiskImage.Operations.Io.Commands;

/// <summary><c>writev [-Cfq] [-P pattern] off len [len..]</c>: one write of the lengths' sum.</summary>
internal static class WritevCommand
{
    public static readonly QemuIoCommandInfo Info = new("writev", null, "[-Cfq] [-P pattern] off len [len..]",
        "writes a number of bytes at a specified offset", 2, -1, Run, NeedsWrite: true,
        Help: "Writes the sum of the lengths at the offset, filled with a pattern byte (0xcd unless -P); -f flushes afterwards.");

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output) => VectoredWrite(session, words, output, Info, "CfqP:", aio: false);

    /// <summary>writev and aio_write: aio_write adds -i, -u and -z, and never fails the run once submitted.</summary>
    internal static int VectoredWrite(QemuIoSession session, string[] words, QemuIoOutput output, QemuIoCommandInfo info, string spec, bool aio)
    {
        bool machine = false, quiet = false, fua = false, unmap = false, zero = false;
        byte pattern = 0xcd;
        var (options, operands) = QemuIoGetopt.Parse(words, spec, output);
        foreach (var (letter, value) in options)
        {
            switch (letter)
            {
                case 'C': machine = true; break;
                case 'f': fua = true; break;
                case 'q': quiet = true; break;
                case 'u': unmap = true; break;
                case 'z': zero = true; break;
                case 'i':
                    output.Out("injecting invalid write request");
                    return 0;
                case 'P':
                    if (QemuIoArguments.Pattern(value!, output) is not { } p)
                    {
                        return QemuIoErrno.EINVAL;
                    }

                    pattern = p;
                    break;
                default:
                    return info.UsageError(output);
            }
        }

        if (operands.Count < 2)
        {
            return info.UsageError(output);
        }

        if (zero && operands.Count != 2)
        {
            output.Out("-z supports only a single length parameter");
            return QemuIoErrno.EINVAL;
        }

        if (unmap && !zero)
        {
            output.Out("-u requires -z to be specified");
            return QemuIoErrno.EINVAL;
        }

        if (QemuIoArguments.Number(operands[0], output) is not { } offset)
        {
            return QemuIoErrno.EINVAL;
        }

        var count = zero ? QemuIoArguments.Number(operands[1], output) : QemuIoArguments.VectorLength(operands.Skip(1), output);
        if (count is not { } total)
        {
            return QemuIoErrno.EINVAL;
        }

        if (aio)
        {
            output.BeginCompletion();
        }
        else
        {
            output.PollForWrite();
        }

        var image = session.Image!;
        TimeSpan elapsed;
        var ret = zero
            ? QemuIoTransfer.WriteZeroes(image, offset, total, unmap && !session.IgnoreDiscards, session.TopBlkdebugLimits, out elapsed)
            : QemuIoTransfer.Write(image, offset, total, QemuIoTransfer.Fill(pattern), fua, out elapsed);
        if (ret < 0)
        {
            output.Out($"{(aio ? "aio_write" : "writev")} failed: {QemuIoErrno.Text(ret)}");
            return aio ? 0 : ret;
        }

        if (!quiet)
        {
            foreach (var line in QemuIoText.Report("wrote", total, total, offset, elapsed, machine))
            {
                output.Out(line);
            }
        }

        return 0;
    }
}
