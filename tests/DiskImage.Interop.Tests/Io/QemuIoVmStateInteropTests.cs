using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// qemu-io's <c>read -b</c> / <c>write -b</c> (the VM state area qcow2 keeps past the virtual disk) and how internal
/// snapshots carry it (iotests 022 and 029): each step runs with qemu's tool on one image and with diskimg on an
/// identical copy; outputs (timings and program name normalised) and exit codes must match, qemu-io must read the
/// same VM state back from both images afterwards, and qemu-img check must find ours clean.
/// </summary>
public partial class QemuIoVmStateInteropTests
{
    /// <summary>Steps: "io ..." is one qemu-io command line (commands split by ';'), "img ..." one qemu-img call.</summary>
    public static TheoryData<string, string, string[], string[]> Cases => new()
    {
        // Writes and reads on an empty image: aligned and misaligned requests, patterns, refusals.
        {
            "qcow2", "6G",
            ["io write -b -P 0x0a 10M 4k;write -b -P 0x0b 4G 8k;read -b -P 0x0a 10M 4k;read -b -P 0x0b 4G 8k",
             "io read -b -P 0 0 4k;read -b -P 0x0a 10M 8k;write -b 1 512;write -b 0 100;write -b -z 0 512;write -b -f 0 512",
             "io read -b -v 0xa00000 0x200;read -b -q 0 512;write -b -q 0 512;read -b -P 0xcd -s 0 -l 512 0 1024"],
            ["read -b -v 0xa00000 0x1000", "read -b -P 0x0b 4G 8k"]
        },

        // A snapshot whose L1 table is smaller than the active one, grown by the VM state (029).
        {
            "qcow2", "64M",
            ["img snapshot -c foo", "io write -b -P 0x33 0 4k", "img snapshot -a foo", "io read -b -P 0 0 4k", "img check"],
            ["read -b -P 0 0 64k"]
        },

        // A huge VM state offset, then a snapshot taken and applied over it.
        {
            "qcow2", "64M",
            ["io write -b -P 0x11 1T 4k", "img snapshot -c foo", "io write -b -P 0x22 1T 4k", "img snapshot -a foo", "io read -b -P 0x11 1T 4k", "img check"],
            ["read -b -P 0x11 1T 4k"]
        },

        // Offsets the block layer refuses, and one the L1 table cannot reach.
        {
            "qcow2", "1M",
            ["io write -b 0x7fffffffbfff0000 512;read -b 0x7fffffffbfff0000 512;read -b 0x7fffffffffff0000 512", "img check"],
            ["read -b -P 0 0 512"]
        },

        // raw has no VM state: qemu-io's error.
        {
            "raw", "1M",
            ["io write -b 0 512;read -b 0 512;read -b 1 512;write -b -P 1 0 512"],
            []
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Vm_state_requests_match_qemu_io(string format, string size, string[] steps, string[] finalReads)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.img");
        var ours = dir.File("ours.img");
        ExternalTool.QemuImg("create", "-f", format, theirs, size);
        File.Copy(theirs, ours);

        foreach (var step in steps)
        {
            var (theirResult, ourResult) = step.StartsWith("io ", StringComparison.Ordinal)
                ? (ExternalTool.Run("qemu-io", [.. IoArguments(format, step[3..], theirs)]), Diskimg.Run(["io", .. IoArguments(format, step[3..], ours)]))
                : (ExternalTool.Run("qemu-img", [.. ImgArguments(format, step[4..], theirs)]), Diskimg.Run([.. ImgArguments(format, step[4..], ours)]));

            Assert.Equal(Normalise(theirResult.StdOut, theirs), Normalise(ourResult.StdOut, ours));
            Assert.Equal(Normalise(theirResult.StdErr, theirs), Normalise(ourResult.StdErr, ours));
            Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        }

        foreach (var read in finalReads)
        {
            var fromTheirs = ExternalTool.Run("qemu-io", [.. IoArguments(format, read, theirs)]);
            var fromOurs = ExternalTool.Run("qemu-io", [.. IoArguments(format, read, ours)]);
            Assert.Equal(Normalise(fromTheirs.StdOut, theirs), Normalise(fromOurs.StdOut, ours));
            Assert.DoesNotContain("failed", fromOurs.StdOut, StringComparison.Ordinal);
        }

        if (format == "qcow2")
        {
            Assert.Equal(0, ExternalTool.Run("qemu-img", "check", "-f", format, ours).ExitCode);
        }

        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-q", "-f", format, "-F", format, theirs, ours).ExitCode);
    }

    [Fact]
    public void Vm_state_written_by_diskimg_is_read_back_by_qemu_io_after_our_snapshot_operations()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", "cluster_size=1024", image, "16M");

        Diskimg.Ok("io", "-c", "write -b -P 0x5a 0 4M", image);
        Diskimg.Ok("snapshot", "-c", "one", image);
        Diskimg.Ok("io", "-c", "write -b -P 0xa5 1M 1M", image);
        Assert.Contains("read 1048576/1048576", ExternalTool.QemuIo("-c", "read -b -P 0xa5 1M 1M", image), StringComparison.Ordinal);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", image).ExitCode);

        Diskimg.Ok("snapshot", "-a", "one", image);
        var read = ExternalTool.QemuIo("-c", "read -b -P 0x5a 0 4M", image);
        Assert.DoesNotContain("Pattern verification failed", read, StringComparison.Ordinal);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", image).ExitCode);
    }

    private static IEnumerable<string> IoArguments(string format, string commands, string image) =>
        new[] { "-f", format }.Concat(commands.Split(';').SelectMany(c => new[] { "-c", c })).Append(image);

    private static IEnumerable<string> ImgArguments(string format, string command, string image)
    {
        // qemu-img snapshot has no -f.
        var words = command.Split(' ');
        return words[0] == "snapshot" ? words.Append(image) : words.Take(1).Concat(["-f", format]).Concat(words.Skip(1)).Append(image);
    }

    private static string Normalise(string text, string image)
    {
        text = text.Replace(image, "IMG", StringComparison.Ordinal);
        text = TimingLine().Replace(text, "X ops; TIME");
        // Where the file ends depends on where each tool placed a grown L1 table; both layouts are valid.
        text = EndOffset().Replace(text, "Image end offset: N");
        return ProgramName().Replace(text, "PROG: ");
    }

    [GeneratedRegex(@"[0-9]* ops; [0-9/:. sec]* \([0-9/.inf]* [EPTGMKiBbytes]*/sec and [0-9/.inf]* ops/sec\)")]
    private static partial Regex TimingLine();

    [GeneratedRegex(@"Image end offset: [0-9]+")]
    private static partial Regex EndOffset();

    [GeneratedRegex(@"(?m)^(qemu-io|qemu-img|diskimg): ")]
    private static partial Regex ProgramName();
}
