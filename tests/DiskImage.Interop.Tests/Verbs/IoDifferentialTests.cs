using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Verbs;

/// <summary>
/// The same qemu-io command lines on identical images through qemu-io 7.2 and <c>diskimg io</c>: standard output
/// (timings normalised), standard error (program name normalised), exit code and the resulting image must match.
/// </summary>
public partial class IoDifferentialTests
{
    // Requests outstanding together report in an order that varies between QEMU's runs, so each case lets at most one
    // request of a kind QEMU's timing can reorder be outstanding at an aio_flush.
    public static TheoryData<string, string[]> Cases => new()
    {
        { "qcow2", ["-c", "write -P 1 0 64k", "-c", "read -P 1 0 64k", "-c", "read -P 2 0 512", "-c", "read -v 0 33", "-c", "read -C 0 512", "-c", "read -p -q 0 1"] },
        { "qcow2", ["-c", "alloc 0 1M", "-c", "map", "-c", "write -P 7 0 64k", "-c", "write -z 64k 64k", "-c", "map", "-c", "alloc 0", "-c", "alloc 1M 512", "-c", "alloc 64k 128k"] },
        { "qcow2", ["-c", "bogus", "-c", "read 0", "-c", "read -x 0 1", "-c", "read 0 -1", "-c", "read 0 99999999999999999999", "-c", "read -P 1x 0 1", "-c", "alloc x"] },
        { "qcow2", ["-c", "writev 0 512 1k", "-c", "readv -P 0xcd 0 1536", "-c", "readv -v 0 16 16", "-c", "writev -P 3 -C 2k 512", "-c", "readv -P 4 2k 512"] },
        { "qcow2", ["-c", "aio_write -P 5 4k 4k", "-c", "aio_flush", "-c", "aio_read -P 5 4k 4k", "-c", "aio_flush", "-c", "aio_read -P 6 4k 4k", "-c", "aio_flush", "-c", "aio_write -z -u 8k 4k", "-c", "aio_flush", "-c", "aio_read -i 0 1", "-c", "aio_write -i 0 1"] },
        { "qcow2", ["-c", "write -c 64k 64k", "-c", "write -c 64k 64k", "-c", "write -c 1000 512", "-c", "write -c 0 1000", "-c", "read -P 0xcd 64k 64k", "-c", "write -c -P 0 128k 128k"] },
        { "qcow2", ["-c", "info", "-c", "length", "-c", "truncate 2M", "-c", "length", "-c", "truncate 100", "-c", "truncate -m bogus 1M", "-c", "truncate -m full 3M", "-c", "i", "-c", "l"] },
        { "qcow2", ["-c", "write -s SRC 0 1000", "-c", "read -v 0 32", "-c", "write -f 4k 4k", "-c", "write -q 8k 512", "-c", "write -C 0 512", "-c", "write -s /nonexistent 0 1", "-c", "discard -q 0 64k", "-c", "discard -C 64k 4k", "-c", "map"] },
        { "qcow2", ["-c", "write -u 0 1", "-c", "write -n 0 1", "-c", "write -bz 0 512", "-c", "write -cf 0 512", "-c", "write -z -P 1 0 1", "-c", "write 0 3G", "-c", "write -z -n 0 64k", "-c", "write -p 0 512", "-c", "write -b 0 1"] },
        { "qcow2", ["-c", "break write_aio A", "-c", "resume A", "-c", "remove_break A", "-c", "sigraise 0", "-c", "sigraise x", "-c", "sigraise 99", "-c", "sleep 10", "-c", "sleep x", "-c", "help", "-c", "help bogus", "-c", "quit", "-c", "length"] },
        { "qcow2", ["-c", "close", "-c", "length", "-c", "open -r -o driver=qcow2 IMG", "-c", "write 0 1", "-c", "close", "-c", "open -U IMG", "-c", "open nonexistent", "-c", "open", "-c", "open -t bogus x", "-c", "open -d bogus x", "-c", "open -i bogus x", "-c", "reopen -c bogus", "-c", "reopen x", "-c", "abort 1"] },
        { "qcow2", ["-r", "-c", "write 0 1", "-c", "truncate 2M", "-c", "discard 0 1", "-c", "read 0 1", "-c", "reopen -w", "-c", "write 0 1", "-c", "reopen -r", "-c", "write 0 1", "-c", "reopen -r -w"] },
        { "qcow2", ["-s", "-c", "write -P 9 0 4k", "-c", "read -P 9 0 4k", "-c", "info"] },
        { "qcow2", ["-d", "ignore", "-c", "write -P 7 0 64k", "-c", "discard 0 64k", "-c", "read -P 7 0 64k", "-c", "write -z -u 0 64k", "-c", "map"] },
        { "qcow2", ["--cache", "writeback", "--aio", "threads", "-t", "unsafe", "-n", "-m", "-C", "-c", "write 0 512", "-c", "flush", "-c", "f"] },
        { "qcow2", ["-U", "-r", "-c", "read 0 512"] },
        { "qcow2", ["-t", "bogus", "-c", "read 0 1"] },
        { "qcow2", ["-i", "bogus", "-c", "read 0 1"] },
        { "qcow2", ["-d", "bogus", "-c", "read 0 1"] },
        { "qcow2", ["-k", "-c", "read 0 1"] },
        { "qcow2", ["-n", "-k", "-c", "read 0 1"] },
        { "qcow2", ["-T", "foo", "-c", "read 0 1"] },
        { "raw", ["-f", "raw", "-c", "truncate 2M", "-c", "length", "-c", "truncate 3000", "-c", "length", "-c", "alloc 0 1M", "-c", "write -c 0 512", "-c", "read -b 0 512", "-c", "truncate -m full 1M", "-c", "map", "-c", "info"] },
        { "raw", ["-c", "write 0 512", "-c", "discard 0 4k", "-c", "write -z -u 0 4k", "-c", "read -P 0 0 4k"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Diskimg_io_matches_qemu_io(string format, string[] arguments)
    {
        using var dir = new TempDirectory();
        var source = dir.File("src.bin");
        File.WriteAllText(source, "abc");
        var theirs = dir.File("theirs.img");
        var ours = dir.File("ours.img");
        ExternalTool.QemuImg("create", "-f", format, theirs, "1M");
        File.Copy(theirs, ours);

        var theirResult = ExternalTool.Run("qemu-io", [.. Fill(arguments, theirs, source), theirs]);
        var ourResult = Diskimg.Run(["io", .. Fill(arguments, ours, source), ours]);

        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        Assert.Equal(Normalise(theirResult.StdOut, theirs), Normalise(ourResult.StdOut, ours));
        Assert.Equal(Normalise(theirResult.StdErr, theirs), Normalise(ourResult.StdErr, ours));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-q", theirs, ours).ExitCode);
        if (format == "qcow2")
        {
            Assert.Equal(0, ExternalTool.Run("qemu-img", "check", "-q", ours).ExitCode);
        }
    }

    [Fact]
    public void Help_lists_every_command_as_qemu_io_does()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "1M");
        var ours = Diskimg.Run("io", "-c", "help", image);
        var theirs = ExternalTool.Run("qemu-io", "-c", "help", image);

        // Every command qemu-io lists is listed with the same usage line.
        Assert.Equal(theirs.StdOut, ours.StdOut);
    }

    private static string[] Fill(string[] arguments, string image, string source) =>
        [.. arguments.Select(a => a.Replace("IMG", image, StringComparison.Ordinal).Replace("SRC", source, StringComparison.Ordinal))];

    /// <summary>Timing lines and -C lines reduced to their shape, the program name and the image path replaced.</summary>
    private static string Normalise(string text, string image)
    {
        text = text.Replace(image, "IMG", StringComparison.Ordinal);
        text = TimingLine().Replace(text, "X ops; TIME");
        text = MachineLine().Replace(text, "$1,1,TIME");
        return ProgramName().Replace(text, "PROG: ");
    }

    [GeneratedRegex(@"[0-9]* ops; [0-9/:. sec]* \([0-9/.inf]* [EPTGMKiBbytes]*/sec and [0-9/.inf]* ops/sec\)")]
    private static partial Regex TimingLine();

    [GeneratedRegex(@"(?m)^([0-9]+),1,[0-9:.]+,[0-9.inf]+,[0-9.inf]+$")]
    private static partial Regex MachineLine();

    [GeneratedRegex(@"(?m)^(qemu-io|diskimg): ")]
    private static partial Regex ProgramName();
}
