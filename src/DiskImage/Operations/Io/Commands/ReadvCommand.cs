namespace DiskImage.Operations.Io.Commands;

/// <summary><c>readv [-Cqv] [-P pattern] off len [len..]</c>: one read of the lengths' sum, as qemu-io's vectored read behaves.</summary>
internal static class ReadvCommand
{
    public static readonly QemuIoCommandInfo Info = new("readv", null, "[-Cqv] [-P pattern] off len [len..]",
        "reads a number of bytes at a specified offset", 2, -1, Run,
        Help: "Reads the sum of the lengths at the offset into as many buffers; -P checks the whole range against a pattern byte, -v dumps it.");

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output) => VectoredRead(session, words, output, Info, "CP:qv", aio: false);

    /// <summary>readv and aio_read: same options (aio_read adds -i), same output; aio_read never fails the run.</summary>
    internal static int VectoredRead(QemuIoSession session, string[] words, QemuIoOutput output, QemuIoCommandInfo info, string spec, bool aio)
    {
        bool machine = false, quiet = false, dump = false;
        byte? pattern = null;
        var (options, operands) = QemuIoGetopt.Parse(words, spec, output);
        foreach (var (letter, value) in options)
        {
            switch (letter)
            {
                case 'C': machine = true; break;
                case 'q': quiet = true; break;
                case 'v': dump = true; break;
                case 'i':
                    output.Out("injecting invalid read request");
                    return 0;
                case 'P':
                    pattern = QemuIoArguments.Pattern(value!, output);
                    if (pattern is null)
                    {
                        return QemuIoErrno.EINVAL;
                    }

                    break;
                default:
                    return info.UsageError(output);
            }
        }

        if (operands.Count < 2)
        {
            return info.UsageError(output);
        }

        if (QemuIoArguments.Number(operands[0], output) is not { } offset || QemuIoArguments.VectorLength(operands.Skip(1), output) is not { } count)
        {
            return QemuIoErrno.EINVAL;
        }

        if (aio)
        {
            output.BeginCompletion();
        }
        else
        {
            output.Poll();
        }

        return QemuIoReadReport.Run(session.Image!, output, "readv", offset, count, pattern, 0, count, dump, quiet, machine, failOnMismatch: !aio, copyOnRead: session.CopyOnRead, copyNode: session.TopBlkdebugNode);
    }
}
