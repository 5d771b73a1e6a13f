using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Conversion;

/// <summary>
/// A blkdebug node above a format (<c>json:{"driver": "blkdebug", "image": {...}, "inject-error": [...]}</c>, as iotest
/// 251 drives it): its rules fail reads and block-status queries at guest offsets. qemu-img 7.2 and diskimg convert the
/// same source with and without <c>--salvage</c>; their stderr (warnings in order), exit codes and the copies must
/// match, and map and qemu-io read through the same node as qemu-img and qemu-io do.
/// </summary>
public class ConvertSalvageInteropTests
{
    private const int Sector = 512;

    /// <summary>Block status fails at these guest offsets (one shared with the reads).</summary>
    private static readonly long[] StatusFailures = [(2 << 20) + 8192, (5 << 20) + 512];

    /// <summary>Reads fail at these guest offsets, the last ones a run of consecutive sectors.</summary>
    private static readonly long[] ReadFailures = [(4 << 20) - 65536, (5 << 20) + 512, 6 << 20, (6 << 20) + 512, (6 << 20) + 1024];

    public static TheoryData<string, bool> Formats => new()
    {
        { "qcow2", true },
        { "qcow2", false },
        { "raw", true },
        { "raw", false },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Salvaging_convert_through_blkdebug_rules_matches_qemu_img(string format, bool progress)
    {
        using var dir = new TempDirectory();
        var source = MakeSource(dir, format);
        var name = Source(format, source, StatusFailures, ReadFailures);
        var theirs = dir.File("theirs.img");
        var ours = dir.File("ours.img");
        string[] flags = progress ? ["--salvage", "-p"] : ["--salvage"];

        var theirResult = ExternalTool.Run("qemu-img", ["convert", .. flags, "-O", format, name, theirs]);
        var ourResult = Diskimg.Run(["convert", .. flags, "-O", format, name, ours]);

        Assert.Equal(0, theirResult.ExitCode);
        Assert.Contains("error while reading block status at offset", theirResult.StdErr, StringComparison.Ordinal);
        if (format == "qcow2")
        {
            Assert.Equal(QemuToolOutput.Normalise(theirResult.StdErr), QemuToolOutput.Normalise(ourResult.StdErr));
        }
        else
        {
            // Over raw, qemu-img's concurrent reads print a failed read's warnings after later block-status warnings
            // (the order its coroutines happen to run in); diskimg prints them in source order. The lines are the same.
            Assert.Equal(Lines(theirResult.StdErr), Lines(ourResult.StdErr));
        }

        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", format, "-F", format, theirs, ours).ExitCode);
    }

    [Theory]
    [InlineData("block-status")]
    [InlineData("read")]
    public void Convert_without_salvage_fails_as_qemu_img_does(string ioType)
    {
        using var dir = new TempDirectory();
        var source = MakeSource(dir, "qcow2");
        long[] at = [(3 << 20) + 4096];
        var name = Source("qcow2", source, ioType == "block-status" ? at : [], ioType == "read" ? at : []);

        var theirResult = ExternalTool.Run("qemu-img", "convert", "-O", "raw", name, dir.File("theirs.raw"));
        var ourResult = Diskimg.Run("convert", "-O", "raw", name, dir.File("ours.raw"));

        Assert.NotEqual(0, theirResult.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(theirResult.StdErr), QemuToolOutput.Normalise(ourResult.StdErr));
        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
    }

    [Fact]
    public void Qemu_io_and_map_through_the_node_match_qemu()
    {
        using var dir = new TempDirectory();
        var source = MakeSource(dir, "qcow2");
        var name = Source("qcow2", source, [1 << 20], [1 << 20]);
        string[] commands = ["-c", "read 0 512", "-c", $"read {(1 << 20) - 512} 1024", "-c", "read -P 42 2M 512", "-c", "map"];

        var theirs = ExternalTool.Run("qemu-io", [.. commands, name]);
        var ours = Diskimg.Run(["io", .. commands, name]);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);

        // qemu-img map looks past the filter, so its rules do not fail it.
        var theirMap = ExternalTool.Run("qemu-img", "map", "--output=json", name);
        var ourMap = Diskimg.Run("map", "--output=json", name);
        Assert.Equal(0, theirMap.ExitCode);
        Assert.Equal(theirMap.StdOut, ourMap.StdOut);
        Assert.Equal(theirMap.ExitCode, ourMap.ExitCode);
    }

    private static string[] Lines(string stderr) => [.. QemuToolOutput.Normalise(stderr).Split('\n').Order(StringComparer.Ordinal)];

    private static string MakeSource(TempDirectory dir, string format)
    {
        var path = dir.File("source." + format);
        ExternalTool.QemuImg("create", "-f", format, path, "8M");
        ExternalTool.QemuIo("-f", format, "-c", "write -P 42 0 7M", path);
        return path;
    }

    /// <summary>The json: name of a blkdebug node above the source's format, failing block status and reads at the offsets given.</summary>
    private static string Source(string format, string path, long[] statusFailures, long[] readFailures)
    {
        var rules = statusFailures.Select(o => Rule("block-status", o)).Concat(readFailures.Select(o => Rule("read", o)));
        return $"json:{{\"driver\": \"blkdebug\", \"image\": {{\"driver\": \"{format}\", \"file\": {{\"driver\": \"file\", \"filename\": \"{path}\"}}}}, "
            + $"\"inject-error\": [{string.Join(", ", rules)}]}}";

        static string Rule(string ioType, long offset) =>
            $"{{\"event\": \"none\", \"iotype\": \"{ioType}\", \"errno\": 5, \"sector\": {offset / Sector}}}";
    }
}
