using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// qemu-io with no image on its command line, opening one through <c>open</c> (as iotests 033 and 077 drive it), and
/// <c>blkdebug::PATH</c> names with <c>file.align</c> and breakpoints: qemu-io 7.2 and <c>diskimg io</c> run the same
/// commands on identical images; standard output (timings normalised), standard error (program name normalised),
/// exit code and the resulting image must match.
/// </summary>
public partial class QemuIoBlkdebugInteropTests
{
    public static TheoryData<string, string[]> Cases => new()
    {
        // Misaligned zero writes through a 512-byte and a 4 KiB aligned blkdebug node (033).
        { "qcow2", ["open -o driver=qcow2,file.align=4k blkdebug::IMG", "write -P 0xa 0x200 0x400", "write -z 0x400 0x20000", "aio_write -z 0x200 0x200", "aio_flush", "read -P 0xa 0x200 0x200", "read -P 0 0x400 0x20000"] },
        { "raw", ["open -o driver=raw,file.align=512 blkdebug::IMG", "write -P 0xb 0 0x1000", "write -z 0x200 0x200", "read -P 0xb 0 0x200", "read -P 0 0x200 0x200", "read -P 0xb 0x400 0xc00"] },

        // The open failures and what follows them: every command then finds no file.
        { "qcow2", ["open -o driver=qcow2,file.align=3 blkdebug::IMG", "read 0 512", "info"] },
        { "qcow2", ["open -o driver=qcow2,file.align=x blkdebug::IMG", "read 0 512"] },
        { "qcow2", ["open -o driver=qcow2 blkdebug:IMG", "read 0 512"] },
        { "qcow2", ["open -o driver=qcow2 blkdebug:/nonexistent.cfg:IMG", "read 0 512"] },
        { "qcow2", ["open -o driver=qcow2 blkdebug::IMG.missing", "read 0 512", "open -o driver=qcow2 blkdebug::IMG", "read 0 512"] },
        { "qcow2", ["open blkdebug::IMG", "open blkdebug::IMG", "close", "close", "write 0 1"] },

        // Breakpoints on read-modify-write requests (077): held, released, and waiting for an older overlapping one.
        { "raw", ["open -o driver=raw,file.align=4k blkdebug::IMG", "break pwritev_rmw_after_head A", "aio_write -P 10 0x1200 0x200", "wait_break A", "aio_write -P 11 0x1400 0x200", "resume A", "aio_flush", "read -P 10 0x1200 0x200", "read -P 11 0x1400 0x200"] },
        { "raw", ["open -o driver=raw,file.align=4k blkdebug::IMG", "break pwritev A", "aio_write -P 10 0x11000 0x800", "wait_break A", "aio_write -P 11 0x11000 0x1000", "sleep 100", "resume A", "aio_flush", "read -P 11 0x11000 0x1000"] },
        { "raw", ["open -o driver=raw,file.align=4k blkdebug::IMG", "break bogus_event A", "resume A", "remove_break A", "break pwritev_rmw_tail T", "remove_break T", "aio_write -P 3 0x200 0x200", "aio_flush", "read -P 3 0x200 0x200"] },
        { "raw", ["open -o driver=raw,file.align=4k blkdebug::IMG", "break pwritev_rmw_after_tail A", "aio_write -P 10 0xa000 0x200", "wait_break A", "aio_write -P 11 0xa800 0x1000", "break pwritev_rmw_after_head B", "aio_write -P 10 0xbe00 0x200", "wait_break B", "resume A", "sleep 100", "resume B", "aio_flush", "read -P 10 0xa000 0x200", "read -P 11 0xa800 0x1000", "read -P 10 0xbe00 0x200"] },

        // Breakpoints on a qcow2 data write (046): a write into the cluster the held request allocates waits for it; one
        // starting in the cluster before allocates that first, then waits.
        { "qcow2", ["open -o driver=qcow2 blkdebug::IMG", "break write_aio A", "aio_write -P 10 0x18000 0x2000", "wait_break A", "aio_write -P 11 0x12000 0x2000", "resume A", "aio_flush", "read -P 10 0x18000 0x2000", "read -P 11 0x12000 0x2000", "read -P 0 0x10000 0x2000"] },
        { "qcow2", ["open -o driver=qcow2 blkdebug::IMG", "break write_aio A", "aio_write -P 21 0x5c000 0x2000", "wait_break A", "aio_write -P 20 0x44000 0x18000", "resume A", "aio_flush", "read -P 20 0x44000 0x18000", "read -P 21 0x5c000 0x2000"] },
        { "qcow2", ["open -o driver=qcow2 blkdebug::IMG", "write -P 70 0x76000 0x8000", "break write_aio A", "aio_write -P 60 0x66000 0x2000", "wait_break A", "aio_write -P 61 0x6a000 0xe000", "resume A", "aio_flush", "read -P 60 0x66000 0x2000", "read -P 61 0x6a000 0xe000"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Diskimg_io_without_a_file_matches_qemu_io(string format, string[] commands)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.img");
        var ours = dir.File("ours.img");
        ExternalTool.QemuImg("create", "-f", format, theirs, "1M");
        File.Copy(theirs, ours);

        var theirResult = ExternalTool.Run("qemu-io", [.. Arguments(commands, theirs)]);
        var ourResult = Diskimg.Run(["io", .. Arguments(commands, ours)]);

        Assert.Equal(Normalise(theirResult.StdOut, theirs), Normalise(ourResult.StdOut, ours));
        Assert.Equal(Normalise(theirResult.StdErr, theirs), Normalise(ourResult.StdErr, ours));
        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-q", "-f", format, "-F", format, theirs, ours).ExitCode);
    }

    private static IEnumerable<string> Arguments(string[] commands, string image) =>
        commands.SelectMany(c => new[] { "-c", c.Replace("IMG", image, StringComparison.Ordinal) });

    private static string Normalise(string text, string image) => QemuToolOutput.Normalise(text, image);
}
