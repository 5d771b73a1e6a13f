namespace DiskImage.Operations.Io.Commands;

/// <summary><c>discard [-Cq] off len</c>; with <c>-d ignore</c> it does nothing but still reports, as qemu-io does.</summary>
internal static class DiscardCommand
{
    public static readonly QemuIoCommandInfo Info = new("discard", "d", "[-Cq] off len",
        "discards a number of bytes at a specified offset", 2, -1, Run, NeedsWrite: true,
        Help: "Tells the image a range is no longer needed; it then reads as zeroes (or from the backing file).");

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        bool machine = false, quiet = false;
        var (options, operands) = QemuIoGetopt.Parse(words, "Cq", output);
        foreach (var (letter, _) in options)
        {
            switch (letter)
            {
                case 'C': machine = true; break;
                case 'q': quiet = true; break;
                default: return Info.UsageError(output);
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

        output.Poll();
        var image = session.Image!;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ret = QemuIoTransfer.Run(image, offset, count, () =>
        {
            if (session.IgnoreDiscards)
            {
                return;
            }

            if (session.TopBlkdebugLimits is not { } limits)
            {
                image.Discard(offset, count);
                return;
            }

            // Through a blkdebug node with limits, the request reaches the format in QEMU's pieces (a format discards
            // only whole clusters of each).
            var clusterSize = image is Formats.Qcow2.Qcow2Image qcow2 ? qcow2.ClusterSize : 0;
            foreach (var (pieceOffset, length) in limits.SplitDiscard(offset, count, clusterSize))
            {
                image.Discard(pieceOffset, length);
            }
        });
        if (ret < 0)
        {
            output.Out($"discard failed: {QemuIoErrno.Text(ret)}");
            return ret;
        }

        if (!quiet)
        {
            foreach (var line in QemuIoText.Report("discard", count, count, offset, clock.Elapsed, machine))
            {
                output.Out(line);
            }
        }

        return 0;
    }
}
