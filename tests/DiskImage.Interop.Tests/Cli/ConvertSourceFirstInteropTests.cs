using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// <c>convert</c> opens its sources before it judges the target's format, as qemu-img does: a missing or broken source
/// is what is reported, whatever <c>-O</c> names (unknown, a protocol, a driver without creation), and a bad source with
/// a good target is refused with qemu-img's words. Every command line is run with qemu-img and diskimg in twin
/// directories; stdout, stderr (program name normalised) and the exit code must match.
/// </summary>
public class ConvertSourceFirstInteropTests
{
    public static TheoryData<string, string[]> CommandLines()
    {
        var data = new TheoryData<string, string[]>();
        string[] sources = ["missing.img", "short-qcow2", "bad-version.qcow2", "magic-only", "good.qcow2"];
        string[][] targets = [["-O", "qed"], ["-O", "nbd"], ["-O", "bogus"], ["-O", "raw"], ["-O", "qcow2"], ["-c", "-O", "raw"], ["-f", "bogus", "-O", "raw"], ["-f", "bogus", "-O", "bogus"]];
        foreach (var source in sources)
        {
            foreach (var target in targets)
            {
                // A good source (magic-only is raw) into qed (a format still to come) or nbd (a protocol driver) is another matter.
                if (source is "good.qcow2" or "magic-only" && target is [.., "qed" or "nbd"])
                {
                    continue;
                }

                data.Add(source, target);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CommandLines))]
    public void Convert_reports_the_source_before_the_target_format(string source, string[] target)
    {
        using var theirs = new TempDirectory();
        using var ours = new TempDirectory();
        foreach (var dir in new[] { theirs, ours })
        {
            // 8 bytes: the magic and version 0x6a756e6b; QEMU reads the rest as zeroes and calls it a qcow2 header.
            File.WriteAllBytes(dir.File("short-qcow2"), [(byte)'Q', (byte)'F', (byte)'I', 0xfb, (byte)'j', (byte)'u', (byte)'n', (byte)'k']);
            File.WriteAllBytes(dir.File("magic-only"), [(byte)'Q', (byte)'F', (byte)'I', 0xfb]);
            var badVersion = new byte[1 << 20];
            badVersion[0] = (byte)'Q';
            badVersion[1] = (byte)'F';
            badVersion[2] = (byte)'I';
            badVersion[3] = 0xfb;
            badVersion[7] = 9;
            File.WriteAllBytes(dir.File("bad-version.qcow2"), badVersion);
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", dir.File("good.qcow2"), "1M");
        }

        string[] Arguments(TempDirectory dir) => ["convert", .. target, dir.File(source), dir.File("out.img")];
        var expected = ExternalTool.Run("qemu-img", Arguments(theirs));
        var actual = Diskimg.Run(Arguments(ours));
        Assert.Equal(
            (expected.ExitCode, QemuToolOutput.Normalise(expected.StdOut, theirs.Path), QemuToolOutput.Normalise(expected.StdErr, theirs.Path)),
            (actual.ExitCode, QemuToolOutput.Normalise(actual.StdOut, ours.Path), QemuToolOutput.Normalise(actual.StdErr, ours.Path)));
        Assert.Equal(File.Exists(theirs.File("out.img")), File.Exists(ours.File("out.img")));
    }
}
