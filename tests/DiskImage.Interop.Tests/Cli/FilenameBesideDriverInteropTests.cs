using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// A <c>filename</c> option beside a format or filter driver in <c>json:</c> names and <c>--image-opts</c> lists (at the
/// top, or in a file node), which QEMU never takes as the file: the driver misses its first child. Beside a protocol
/// driver, or as a file node's own option, it is the file. Each line runs with qemu-img/qemu-io and with diskimg in twin
/// directories holding the same qcow2 (@Q) and raw (@R) images; stdout, stderr (program name normalised) and exit codes
/// must match.
/// </summary>
public partial class FilenameBesideDriverInteropTests
{
    public static TheoryData<string, string> Lines()
    {
        var data = new TheoryData<string, string>();
        foreach (var driver in new[] { "qcow2", "raw", "vmdk", "vpc", "vdi", "vhdx", "qed", "qcow", "luks", "parallels", "bochs", "cloop", "dmg",
            "throttle", "blklogwrites", "compress", "copy-on-read", "preallocate", "snapshot-access", "replication", "copy-before-write",
            "blkdebug", "blkverify", "quorum" })
        {
            data.Add("qemu-img", $$"""info json:{"driver":"{{driver}}","filename":"@Q"}""");
            data.Add("qemu-io", $$"""-c info json:{"driver":"{{driver}}","filename":"@Q"}""");
        }

        foreach (var driver in new[] { "qcow2", "raw", "luks", "bochs", "throttle", "compress", "copy-on-read", "quorum", "blkverify", "copy-before-write" })
        {
            data.Add("qemu-img", $"info --image-opts driver={driver},filename=@Q");
            data.Add("qemu-io", $"--image-opts -c info driver={driver},filename=@Q");
            data.Add("qemu-img", $$$"""info json:{"driver":"qcow2","file":{"driver":"{{{driver}}}","filename":"@Q"}}""");
        }

        // Other options do not come first: the missing child does.
        data.Add("qemu-img", """info json:{"driver":"raw","filename":"@R","offset":"1"}""");
        data.Add("qemu-img", """info json:{"driver":"raw","filename":"@R","size":"1"}""");
        data.Add("qemu-img", """info json:{"driver":"qcow2","filename":"@Q","l2-cache-size":"bogus"}""");
        data.Add("qemu-img", """info json:{"driver":"qcow2","bogus":"1"}""");
        data.Add("qemu-img", """info json:{"driver":"compress","bogus":"1"}""");
        data.Add("qemu-img", """info json:{"driver":"throttle","filename":"@Q","throttle-group":"x"}""");
        data.Add("qemu-img", """info json:{"driver":"qcow2","filename":"@Q","encrypt.key-secret":"s"}""");
        data.Add("qemu-img", """info json:{"driver":"blkdebug","image":{"driver":"qcow2","filename":"@Q"}}""");
        data.Add("qemu-img", """info json:{"driver":"raw","file":{"driver":"raw","filename":"@R"}}""");

        // Beside a file child the option is left over; a filter checks its child first.
        data.Add("qemu-img", """info json:{"driver":"qcow2","filename":"@Q","file":{"filename":"@Q"}}""");
        data.Add("qemu-img", """info json:{"driver":"compress","filename":"@Q","file":{"filename":"@Q"}}""");

        // Where QEMU does take it: a protocol driver's own option, a file node's, none at all.
        data.Add("qemu-img", """info json:{"driver":"file","filename":"@Q"}""");
        data.Add("qemu-img", """info json:{"driver":"qcow2","file":{"filename":"@Q"}}""");
        data.Add("qemu-img", """info json:{"filename":"@Q"}""");
        data.Add("qemu-img", "info --image-opts driver=file,filename=@R");
        data.Add("qemu-io", "--image-opts -c info driver=file,filename=@R");
        data.Add("qemu-io", "--image-opts -r -c info driver=bochs,filename=@Q");

        // A path with a prefix beside open's options is still the file, read for its prefix.
        data.Add("qemu-io", "-c open_-o_driver=qcow2,lazy-refcounts=on_file:@Q -c info");
        data.Add("qemu-io", "-c open_-o_driver=raw,offset=512_file:@R -c read_0_512");
        data.Add("qemu-io", "-c open_json:{\"driver\":\"qcow2\",\"filename\":\"@Q\"} -c info");
        return data;
    }

    [Theory]
    [MemberData(nameof(Lines))]
    public void A_filename_beside_a_driver_is_judged_as_qemu_judges_it(string tool, string line)
    {
        using var dir = new TempDirectory();
        var results = new List<ExternalTool.Result>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var sideDir = Path.Combine(dir.Path, side);
            Directory.CreateDirectory(sideDir);
            var qcow2 = Path.Combine(sideDir, "q.qcow2");
            var raw = Path.Combine(sideDir, "r.raw");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", qcow2, "1M");
            ExternalTool.QemuImg("create", "-q", "-f", "raw", raw, "1M");
            var words = line.Split(' ').Select(w => w.Replace('_', ' ').Replace("@Q", qcow2, StringComparison.Ordinal).Replace("@R", raw, StringComparison.Ordinal)).ToArray();
            var result = side == "theirs" ? ExternalTool.Run(tool, words) : Diskimg.Run(tool == "qemu-io" ? ["io", .. words] : words);
            results.Add(new ExternalTool.Result(result.ExitCode, result.StdOut.Replace(sideDir, "DIR", StringComparison.Ordinal),
                result.StdErr.Replace(sideDir, "DIR", StringComparison.Ordinal)));
        }

        Assert.Equal(Normalise(results[0].StdOut), Normalise(results[1].StdOut));
        Assert.Equal(Normalise(results[0].StdErr), Normalise(results[1].StdErr));
        Assert.Equal(results[0].ExitCode, results[1].ExitCode);
    }

    /// <summary>qemu's GLib assertion lines before a curl refusal belong to its build (see docs/CONFORMANCE.md).</summary>
    private static string Normalise(string text) => QemuToolOutput.Normalise(GlibLine().Replace(text, ""));

    [GeneratedRegex(@"(?m)^[a-z-]+: GLib: .*\n")]
    private static partial Regex GlibLine();
}
