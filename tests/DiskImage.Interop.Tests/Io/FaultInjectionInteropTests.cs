using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// blkdebug fault injection under qcow2: the same rules (a rules file in a <c>blkdebug:RULES:IMG</c> name, or
/// <c>inject-error</c>/<c>set-state</c> options in a <c>json:</c> name) and the same commands run through qemu-io 7.2 or
/// qemu-img 7.2 and through diskimg on identical images. Standard output (timings normalised), standard error (program
/// name normalised) and exit code must match (qemu-io with the case's cache mode: <c>-t writeback</c>, as QEMU's iotests run it, unless the case says why not), and afterwards <c>qemu-img check</c> must say the same of both images and
/// <c>qemu-img compare</c> find them identical.
/// </summary>
public partial class FaultInjectionInteropTests
{
    private const string ReadAio = "[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\n";
    private const string WriteAioNoSpaceOnce = "[inject-error]\nevent = \"write_aio\"\nerrno = \"28\"\nonce = \"on\"\n";

    public static TheoryData<string, string, string, string[], string[]> IoCases => new()
    {
        // A data read after read_aio fails; reads of unallocated clusters never reach the file.
        { "read_aio", "writeback", ReadAio, ["write -P 1 0 64k"], ["read -P 0 1M 4k", "read -P 1 0 4k", "read -P 1 4k 4k"] },

        // One data write fails with ENOSPC, the next succeeds; the failed write's cluster is given back.
        { "write_aio once", "writeback", WriteAioNoSpaceOnce, [], ["write -P 1 0 64k", "write -P 2 64k 64k", "read -P 0 0 64k", "read -P 2 64k 64k"] },

        // Only a request covering the sector fails: the second write's data cluster (host 384 KiB) holds sector 770.
        { "sector", "writeback", "[inject-error]\nevent = \"write_aio\"\nsector = \"770\"\n", [], ["write -P 1 0 64k", "write -P 2 128k 64k", "read -P 1 0 64k"] },

        // The L2 table load fails, and so does every request after it.
        { "l2_load", "writeback", "[inject-error]\nevent = \"l2_load\"\n", ["write -P 3 1M 4k"], ["read -P 3 1M 4k", "read -P 0 0 4k"] },

        // A state machine: the second write_aio fails (iotest 066's check that a write is one request). Run with
        // -t unsafe: under writeback, diskimg io hands a completed command's metadata to the host at once (see
        // docs/CONFORMANCE.md), where qemu-io keeps it cached and loses it when the failing close flush comes.
        { "set-state", "unsafe", "[set-state]\nevent = \"write_aio\"\nnew_state = \"2\"\n[inject-error]\nevent = \"write_aio\"\nstate = \"2\"\n", ["write -P 4 0 192k", "write -z 64k 64k"], ["write -P 5 0 192k", "write -P 6 0 64k", "read -P 5 64k 128k"] },

        // errno 0 lets requests through and replaces the active rules; iotype limits what fails.
        { "errno 0 and iotype", "writeback", "[inject-error]\nevent = \"read_aio\"\nerrno = \"0\"\n[inject-error]\nevent = \"write_aio\"\niotype = \"read\"\n", ["write -P 7 0 4k"], ["read -P 7 0 4k", "write -P 8 4k 4k", "read -P 8 4k 4k"] },
    };

    [Theory]
    [MemberData(nameof(IoCases))]
    public void Qemu_io_through_a_rules_file_matches(string name, string cache, string rules, string[] prepare, string[] commands)
    {
        _ = name;
        using var dir = new TempDirectory();
        var (theirs, ours) = Images(dir, prepare);
        var rulesFile = dir.File("rules.conf");
        File.WriteAllText(rulesFile, rules);

        var theirResult = ExternalTool.Run("qemu-io", ["-t", cache, "-f", "qcow2", .. Commands(commands), $"blkdebug:{rulesFile}:{theirs}"]);
        var ourResult = Diskimg.Run(["io", "-t", cache, "-f", "qcow2", .. Commands(commands), $"blkdebug:{rulesFile}:{ours}"]);

        AssertSame(theirResult, ourResult, theirs, ours);
    }

    /// <summary>
    /// Errors injected at qcow2 metadata events while a write allocates (iotest 026's cases): event, errno, once, and the
    /// write a case issues first to have an L2 table in place (empty for none).
    /// </summary>
    public static TheoryData<string, int, bool, string> MetadataCases => new()
    {
        { "l1_update", 5, true, "" },
        { "l1_update", 5, false, "" },
        { "l1_update", 28, true, "" },
        { "cluster_alloc", 5, true, "" },
        { "cluster_alloc", 28, false, "" },
        { "refblock_alloc", 5, true, "" },
        { "refblock_alloc", 28, false, "" },
        { "refblock_load", 5, false, "" },
        { "refblock_update_part", 5, true, "" },
        { "refblock_update_part", 28, false, "" },
    };

    /// <summary>
    /// The write fails as qemu-io's does (with qemu-io's lines when the close-time flush fails too), and
    /// <c>qemu-img check</c> finds the same errors on both images, leaks aside: when the metadata is written (QEMU as
    /// it allocates, diskimg when the command completes) decides only how many clusters leak, never what is corrupt.
    /// </summary>
    [Theory]
    [MemberData(nameof(MetadataCases))]
    public void Qemu_io_with_an_error_at_a_metadata_event_matches_apart_from_leaks(string eventName, int errno, bool once, string prepare)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=1024", theirs, "1G");
        if (prepare.Length > 0)
        {
            ExternalTool.QemuIo("-f", "qcow2", "-c", prepare, theirs);
        }

        File.Copy(theirs, ours);
        var rulesFile = dir.File("rules.conf");
        File.WriteAllText(rulesFile, $"[inject-error]\nevent = \"{eventName}\"\nerrno = \"{errno}\"\nonce = \"{(once ? "on" : "off")}\"\n");

        string[] arguments = ["-t", "writeback", "-f", "qcow2", "-c", "write 0 128k"];
        var theirResult = ExternalTool.Run("qemu-io", [.. arguments, $"blkdebug:{rulesFile}:{theirs}"]);
        var ourResult = Diskimg.Run(["io", .. arguments, $"blkdebug:{rulesFile}:{ours}"]);

        Assert.Equal(Normalise(theirResult.StdOut, theirs), Normalise(ourResult.StdOut, ours));
        Assert.Equal(Normalise(theirResult.StdErr, theirs), Normalise(ourResult.StdErr, ours));
        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        Assert.Equal(CheckIgnoringLeaks(theirs), CheckIgnoringLeaks(ours));
    }

    /// <summary><c>qemu-img check</c>'s errors and exit code with leaks counted as no error (iotests' ignore-leaks check).</summary>
    private static (string Errors, int ExitCode) CheckIgnoringLeaks(string image)
    {
        var result = ExternalTool.Run("qemu-img", "check", image);
        var errors = string.Join('\n', result.StdOut.Split('\n').Where(l => l.Contains("ERROR", StringComparison.Ordinal) || l.Contains("corrupt", StringComparison.OrdinalIgnoreCase)));
        return (errors, result.ExitCode == 3 ? 0 : result.ExitCode);
    }

    [Fact]
    public void Qemu_io_through_json_options_matches()
    {
        using var dir = new TempDirectory();
        var (theirs, ours) = Images(dir, ["write -P 9 0 128k"]);
        static string Json(string image) =>
            $"json:{{'driver': 'qcow2', 'file': {{'driver': 'blkdebug', 'image.filename': '{image}', "
            + "'inject-error': [{'event': 'read_aio', 'errno': 28, 'once': true}, {'event': 'write_aio', 'sector': 128}]}}";
        string[] commands = ["read -P 9 0 4k", "read -P 9 0 4k", "write -P 1 64k 4k", "write -P 1 0 4k", "read -P 1 0 4k"];

        var theirResult = ExternalTool.Run("qemu-io", ["-t", "writeback", .. Commands(commands), Json(theirs)]);
        var ourResult = Diskimg.Run(["io", "-t", "writeback", .. Commands(commands), Json(ours)]);

        AssertSame(theirResult, ourResult, theirs, ours);
    }

    [Fact]
    public void Qemu_img_commit_into_a_failing_base_matches()
    {
        using var dir = new TempDirectory();
        var results = new List<(ExternalTool.Result Result, string Overlay)>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var baseImage = dir.File($"{side}.base");
            var overlay = dir.File($"{side}.qcow2");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", baseImage, "1M");
            var backing = $"json:{{'driver': 'qcow2', 'file': {{'driver': 'blkdebug', 'inject-error': [{{'event': 'write_aio', 'errno': 28, 'once': true}}], 'image': {{'driver': 'file', 'filename': '{baseImage}'}}}}}}";
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", overlay);
            ExternalTool.QemuIo("-c", "write -P 1 0 64k", overlay);
            results.Add((side == "theirs" ? ExternalTool.Run("qemu-img", "commit", overlay) : Diskimg.Run("commit", overlay), overlay));
        }

        AssertSame(results[0].Result, results[1].Result, results[0].Overlay, results[1].Overlay);
    }

    [Fact]
    public void Qemu_img_compare_with_a_failing_read_matches()
    {
        using var dir = new TempDirectory();
        var (theirs, ours) = Images(dir, ["write -P 1 512 512"]);
        var other = dir.File("other.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", other, "1G");
        var rulesFile = dir.File("rules.conf");
        File.WriteAllText(rulesFile, ReadAio);

        var theirResult = ExternalTool.Run("qemu-img", "compare", $"blkdebug:{rulesFile}:{theirs}", other);
        var ourResult = Diskimg.Run("compare", $"blkdebug:{rulesFile}:{ours}", other);

        AssertSame(theirResult, ourResult, theirs, ours);
    }

    /// <summary>Two identical 1 GiB qcow2 images, prepared with qemu-io.</summary>
    private static (string Theirs, string Ours) Images(TempDirectory dir, string[] prepare)
    {
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", theirs, "1G");
        if (prepare.Length > 0)
        {
            ExternalTool.QemuIo(["-f", "qcow2", .. Commands(prepare), theirs]);
        }

        File.Copy(theirs, ours);
        return (theirs, ours);
    }

    private static void AssertSame(ExternalTool.Result theirResult, ExternalTool.Result ourResult, string theirs, string ours)
    {
        Assert.Equal(Normalise(theirResult.StdOut, theirs), Normalise(ourResult.StdOut, ours));
        Assert.Equal(Normalise(theirResult.StdErr, theirs), Normalise(ourResult.StdErr, ours));
        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);

        var theirCheck = ExternalTool.Run("qemu-img", "check", theirs);
        var ourCheck = ExternalTool.Run("qemu-img", "check", ours);
        Assert.Equal(Normalise(theirCheck.StdOut, theirs), Normalise(ourCheck.StdOut, ours));
        Assert.Equal(theirCheck.ExitCode, ourCheck.ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-q", theirs, ours).ExitCode);
    }

    private static IEnumerable<string> Commands(string[] commands) => commands.SelectMany(c => new[] { "-c", c });

    private static string Normalise(string text, string image) => QemuToolOutput.Normalise(text, image);
}
