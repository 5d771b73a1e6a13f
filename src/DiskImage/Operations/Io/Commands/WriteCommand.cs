namespace DiskImage.Operations.Io.Commands;

/// <summary>
/// <c>write [-bcCfnquz] [-P pattern | -s source_file] off len</c>. <c>-f</c> (FUA) flushes after the write;
/// <c>-n</c> (no fallback) is accepted with <c>-z</c>, whose zeroing never falls back to writing data here;
/// <c>-b</c> writes the VM state area (qcow2; other formats have none); <c>-p</c> is ignored as in qemu-io.
/// </summary>
internal static class WriteCommand
{
    public static readonly QemuIoCommandInfo Info = new("write", "w", "[-bcCfnquz] [-P pattern | -s source_file] off len",
        "writes a number of bytes at a specified offset", 2, -1, Run, NeedsWrite: true,
        Help: "Writes a range filled with a pattern byte (0xcd unless -P), with a source file's bytes repeated (-s), or zeroes (-z, -u to unmap). -c compresses (qcow2, cluster-aligned), -f flushes afterwards, -b writes the VM state area instead of the disk, -q prints nothing on success, -C prints a machine-readable report.");

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        bool vmState = false, compressed = false, machine = false, fua = false, noFallback = false, quiet = false, unmap = false, zero = false, hasPattern = false;
        byte pattern = 0xcd;
        string? sourceFile = null;
        var (options, operands) = QemuIoGetopt.Parse(words, "bcCfnpP:qs:uz", output);
        foreach (var (letter, value) in options)
        {
            switch (letter)
            {
                case 'b': vmState = true; break;
                case 'c': compressed = true; break;
                case 'C': machine = true; break;
                case 'f': fua = true; break;
                case 'n': noFallback = true; break;
                case 'p': break;
                case 'q': quiet = true; break;
                case 's': sourceFile = value; break;
                case 'u': unmap = true; break;
                case 'z': zero = true; break;
                case 'P':
                    hasPattern = true;
                    if (QemuIoArguments.Pattern(value!, output) is not { } p)
                    {
                        return QemuIoErrno.EINVAL;
                    }

                    pattern = p;
                    break;
                default:
                    return Info.UsageError(output);
            }
        }

        if (operands.Count != 2)
        {
            return Info.UsageError(output);
        }

        var complaint = (vmState && zero) ? "-b and -z cannot be specified at the same time"
            : fua && (vmState || compressed) ? "-f and -b or -c cannot be specified at the same time"
            : noFallback && !zero ? "-n requires -z to be specified"
            : unmap && !zero ? "-u requires -z to be specified"
            : (zero ? 1 : 0) + (hasPattern ? 1 : 0) + (sourceFile is null ? 0 : 1) > 1 ? "Only one of -z, -P, and -s can be specified at the same time"
            : null;
        if (complaint is not null)
        {
            output.Out(complaint);
            return QemuIoErrno.EINVAL;
        }

        if (QemuIoArguments.Number(operands[0], output) is not { } offset || QemuIoArguments.Number(operands[1], output) is not { } count)
        {
            return QemuIoErrno.EINVAL;
        }

        if (count > QemuIoArguments.MaxRequestBytes && !noFallback)
        {
            output.Out($"length cannot exceed {QemuIoArguments.MaxRequestBytes} without -n, given {operands[1]}");
            return QemuIoErrno.EINVAL;
        }

        if ((vmState || compressed) && !QemuIoArguments.SectorAligned(offset, count, output))
        {
            return QemuIoErrno.EINVAL;
        }

        var fill = QemuIoTransfer.Fill(pattern);
        if (sourceFile is not null && !zero)
        {
            if (QemuIoSourceFile.Load(sourceFile, count, output) is not { } source)
            {
                return QemuIoErrno.EINVAL;
            }

            fill = source;
        }

        output.PollForWrite();
        var image = session.Image!;
        var elapsed = TimeSpan.Zero;
        var ret = vmState ? QemuIoTransfer.WriteVmState(image, offset, count, fill, out elapsed)
            : zero ? QemuIoTransfer.WriteZeroes(image, offset, count, unmap && !session.IgnoreDiscards, session.TopBlkdebugLimits, out elapsed)
            : compressed ? QemuIoCompressedWrite.Write(image, offset, count, fill, out elapsed)
            : session.Compress ? QemuIoCompressedWrite.WriteThroughFilter(image, offset, count, fill, out elapsed)
            : QemuIoTransfer.Write(image, offset, count, fill, fua, out elapsed);
        if (ret < 0)
        {
            output.Out($"write failed: {QemuIoErrno.Text(ret)}");
            return ret;
        }

        if (!quiet)
        {
            foreach (var line in QemuIoText.Report("wrote", count, count, offset, elapsed, machine))
            {
                output.Out(line);
            }
        }

        return 0;
    }
}
