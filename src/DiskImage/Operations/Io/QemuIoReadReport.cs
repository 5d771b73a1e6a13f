using DiskImage.Formats;

namespace DiskImage.Operations.Io;

/// <summary>Runs a read and prints what read, readv and aio_read print: failure, mismatch, dump, report.</summary>
internal static class QemuIoReadReport
{
    /// <summary>Reads and prints; returns the command's status (0, or a failure).</summary>
    /// <param name="image">The image read.</param>
    /// <param name="output">Where lines go.</param>
    /// <param name="offset">First guest byte read.</param>
    /// <param name="count">Bytes read.</param>
    /// <param name="pattern">Byte the window must hold (<c>-P</c>), if any.</param>
    /// <param name="windowStart">Start of the checked window (<c>-s</c>).</param>
    /// <param name="windowLength">Length of the checked window (<c>-l</c>).</param>
    /// <param name="dump">Print the bytes read (<c>-v</c>).</param>
    /// <param name="quiet">Print no report (<c>-q</c>).</param>
    /// <param name="machine">Print the report in machine-readable form (<c>-C</c>).</param>
    /// <param name="failureName">The name in "... failed:" (readv and aio_read both say readv).</param>
    /// <param name="failOnMismatch">aio_read reports a mismatch but still succeeds.</param>
    /// <param name="vmState">Read the VM state area (<c>read -b</c>).</param>
    /// <param name="copyOnRead">Copy what the read gets from below into the image first (<c>-C</c>).</param>
    /// <param name="copyNode">A blkdebug node above the image that copy-on-read writes through, if any.</param>
    public static int Run(IDiskImage image, QemuIoOutput output, string failureName, long offset, long count, byte? pattern,
        long windowStart, long windowLength, bool dump, bool quiet, bool machine, bool failOnMismatch, bool vmState = false, bool copyOnRead = false, IO.Blkdebug.BlkdebugStorage? copyNode = null)
    {
        if (copyOnRead && !vmState && QemuIoCopyOnRead.Copy(image, offset, count, copyNode) is < 0 and var error)
        {
            output.Out($"{failureName} failed: {QemuIoErrno.Text(error)}");
            return failOnMismatch ? error : 0;
        }

        var result = QemuIoTransfer.Read(image, offset, count, pattern, windowStart, windowLength, dump && !quiet, vmState);
        if (result.Error < 0)
        {
            output.Out($"{failureName} failed: {QemuIoErrno.Text(result.Error)}");
            return failOnMismatch ? result.Error : 0;
        }

        if (result.Mismatch)
        {
            output.Out($"Pattern verification failed at offset {offset + windowStart}, {windowLength} bytes");
        }

        if (!quiet)
        {
            result.Dump.ForEach(output.Out);
            foreach (var line in QemuIoText.Report("read", count, count, offset, result.Elapsed, machine))
            {
                output.Out(line);
            }
        }

        return result.Mismatch && failOnMismatch ? QemuIoErrno.EINVAL : 0;
    }
}
