using System.Diagnostics;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// The throttle filter with its group (<c>--object throttle-group,...</c>): the object's limits and QEMU's checks of
/// them, the node named in <c>json:</c>, <c>--image-opts</c>, <c>-f</c> and qemu-io's <c>open -o</c> forms, over a file
/// and over a format node, and its missing or unknown group. Each line runs with qemu-img (or qemu-io) and diskimg in
/// twin directories; stdout, stderr (program name, directory and timings normalised), exit code and the files' bytes
/// must be equal. Two more tests check that the limit delays requests as QEMU's does.
/// </summary>
public partial class ThrottleInteropTests(DriverNameFiles files) : IClassFixture<DriverNameFiles>
{
    private const string Json = "json:{\"driver\": \"throttle\", \"throttle-group\": \"tg0\", \"file\": {\"driver\": \"file\", \"filename\": \"src.raw\"}}";
    private const string OverQcow2 = "json:{\"driver\": \"throttle\", \"throttle-group\": \"tg0\", \"file\": {\"driver\": \"qcow2\", \"file\": {\"driver\": \"file\", \"filename\": \"src.qcow2\"}}}";
    private const string Group = "throttle-group,id=tg0,x-bps-total=100000000";

    /// <summary>Object definitions, each given to info over the node: good ones open it, bad ones fail in QEMU's words.</summary>
    private static readonly string[] Objects =
    [
        "id=tg0,x-bps-read=524288", "id=tg0,limits.iops-total=100,limits.iops-size=4096", "id=tg0,x-iops-total=10,x-iops-total-max=20,x-iops-total-max-length=3",
        "id=tg0,x-bps-read=0x10", "id=tg0,x-bps-read=-1", "id=tg0,x-bps-read=abc", "id=tg0,x-bps-read=1k", "id=tg0,x-bps-read=08",
        "id=tg0,x-bps-read=9223372036854775808", "id=tg0,x-bps-read-max=100", "id=tg0,x-bps-read=100,x-bps-read-max=50",
        "id=tg0,x-bps-read-max-length=5", "id=tg0,x-bps-read-max-length=0", "id=tg0,x-bps-read-max-length=5000000000", "id=tg0,x-iops-size=4096",
        "id=tg0,x-bps-total=1,x-bps-read=1", "id=tg0,x-bps-read=1000000000000001", "id=tg0,x-bps-read-max=2000000000000000,x-bps-read=1000000000000000,x-bps-read-max-length=3",
        "id=tg0,limits.bps-read=-1", "id=tg0,limits.bps-read=1k", "id=tg0,limits.bps-read-max-length=5000000000", "id=tg0,limits.bps-read-max-length=-1",
        "id=tg0,limits.bogus=1", "id=tg0,limits=5", "id=tg0,bogus=1", "x-bps-read=1", "id=0tg",
        "id=tg0,x-bps-total=5,limits.bps-read=-6", "id=tg0,x-bps-read=5,limits.bps-total=6", "id=tg0,limits.iops-read=abc,x-bps-read=abc",
        "id=tg0,x-iops-total=-1,x-bps-total=-2,x-bps-write-max-length=99999999999", "id=tg0,bogus=1,x-bps-read=abc",
    ];

    /// <summary>Command lines, G standing for <c>--object</c> with a generous group.</summary>
    private static readonly string[][] Lines =
    [
        ["info", "G", Json],
        ["info", "--output=json", "G", Json],
        ["info", Json],
        ["info", "--object", "throttle-group,id=tg1", Json],
        ["info", "--object", "throttle-group,id=tg0", "--object", "throttle-group,id=tg0", Json],
        ["info", "--object", "qom-type=throttle-group,id=tg0", Json],
        ["info", "G", "--image-opts", "driver=throttle,throttle-group=tg0,file.filename=src.raw"],
        ["info", "G", "--image-opts", "driver=throttle,file.filename=src.raw"],
        ["info", "G", "--image-opts", "driver=throttle,throttle-group=tg0,file.filename=missing"],
        ["info", "G", "--image-opts", "driver=throttle,throttle-group=tg0,file.driver=raw,file.file.filename=src.raw"],
        ["info", "G", "-f", "throttle", "src.raw"],
        ["info", "G", OverQcow2],
        ["info", "--output=json", "G", OverQcow2],
        ["check", "G", OverQcow2],
        ["map", "G", Json],
        ["map", "--output=json", "G", Json],
        ["check", "G", Json],
        ["compare", "G", Json, "src.raw"],
        ["measure", "G", Json],
        ["convert", "-O", "qcow2", "G", Json, "x.img"],
        ["resize", "G", Json, "2M"],
        ["io", "G", "-c", "read -P 0x5a 0 64k", "-c", "write -P 7 64k 64k", "-c", "read -P 7 64k 64k", "-c", "write -z 0 4k", "-c", "discard 128k 64k", "-c", "flush", "-c", "info", "-c", "map", "-c", "length", Json],
        ["io", "G", "-c", "info", "-c", "write -P 3 0 64k", "-c", "read -P 3 0 64k", OverQcow2],
        ["io", "G", "--image-opts", "-c", "info", "driver=throttle,throttle-group=tg0,file.filename=src.raw"],
        ["io", "G", "-c", "open -o driver=throttle,throttle-group=tg0,file.filename=src.raw", "-c", "read 0 4k"],
        ["io", "-c", "info", Json],
        ["io", "--object", "throttle-group,id=tg0,x-bps-read=-1", "-c", "info", Json],
    ];

    public static TheoryData<string[]> Cases()
    {
        var data = new TheoryData<string[]>();
        foreach (var definition in Objects)
        {
            data.Add(["info", "--object", "throttle-group," + definition, Json]);
        }

        foreach (var line in Lines)
        {
            data.Add([.. line.SelectMany(a => a == "G" ? new[] { "--object", Group } : [a])]);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_throttle_node_does_as_qemu_does(string[] arguments)
    {
        using var theirs = new TempDirectory();
        using var ours = new TempDirectory();
        files.CopyTo(theirs);
        files.CopyTo(ours);
        var expected = Run(theirs.Path, arguments, qemu: true);
        var actual = Run(ours.Path, arguments, qemu: false);
        Assert.Equal(
            (expected.ExitCode, QemuToolOutput.Normalise(expected.StdOut, theirs.Path), QemuToolOutput.Normalise(expected.StdErr, theirs.Path), Listing(theirs)),
            (actual.ExitCode, QemuToolOutput.Normalise(actual.StdOut, ours.Path), QemuToolOutput.Normalise(actual.StdErr, ours.Path), Listing(ours)));
    }

    /// <summary>
    /// At 512 KiB/s a first 1 MiB read passes at once (the bucket starts empty) and the second waits until the first
    /// has drained to a tenth of a second's worth, about 1.9 s; qemu-io's output (timings normalised) is the same.
    /// </summary>
    [Fact]
    public void Reads_wait_for_the_group_limit()
    {
        using var theirs = new TempDirectory();
        using var ours = new TempDirectory();
        files.CopyTo(theirs);
        files.CopyTo(ours);
        string[] arguments = ["io", "--object", "throttle-group,id=tg0,x-bps-read=524288", "-c", "read -P 0x5a 0 64k", "-c", "read 0 1M", "-c", "read 0 1M", Json];
        var expected = Run(theirs.Path, arguments, qemu: true);
        var clock = Stopwatch.StartNew();
        var actual = Run(ours.Path, arguments, qemu: false);
        var elapsed = clock.Elapsed;
        Assert.Equal(
            (expected.ExitCode, QemuToolOutput.Normalise(expected.StdOut, theirs.Path), QemuToolOutput.Normalise(expected.StdErr, theirs.Path)),
            (actual.ExitCode, QemuToolOutput.Normalise(actual.StdOut, ours.Path), QemuToolOutput.Normalise(actual.StdErr, ours.Path)));
        Assert.InRange(elapsed.TotalSeconds, 1.8, 8);
    }

    /// <summary>
    /// dd in 256 KiB blocks at 512 KiB/s: the first block passes at once and each later one waits for the bucket to drain
    /// to a tenth of a second's worth (0.4 s, then 0.5 s twice), so both tools take about 1.4 s beyond starting up (run
    /// in-process here, this side has no start-up to add). The copies must be equal.
    /// </summary>
    [Fact]
    public void Dd_in_blocks_waits_as_qemu_img_does()
    {
        using var theirs = new TempDirectory();
        using var ours = new TempDirectory();
        files.CopyTo(theirs);
        files.CopyTo(ours);
        string[] arguments = ["dd", "--object", "throttle-group,id=tg0,x-bps-read=524288", "bs=256k", "count=4", "if=" + Json, "of=x.img", "-O", "raw"];
        var theirClock = Stopwatch.StartNew();
        var expected = Run(theirs.Path, arguments, qemu: true);
        var theirElapsed = theirClock.Elapsed.TotalSeconds;
        var ourClock = Stopwatch.StartNew();
        var actual = Run(ours.Path, arguments, qemu: false);
        var ourElapsed = ourClock.Elapsed.TotalSeconds;
        Assert.Equal((expected.ExitCode, expected.StdOut, QemuToolOutput.Normalise(expected.StdErr, theirs.Path)),
            (actual.ExitCode, actual.StdOut, QemuToolOutput.Normalise(actual.StdErr, ours.Path)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(theirs.Path, "x.img")), File.ReadAllBytes(Path.Combine(ours.Path, "x.img")));
        Assert.InRange(theirElapsed, 1.35, 6);
        Assert.InRange(ourElapsed, 1.35, Math.Max(theirElapsed + 0.6, 2.2));
    }

    private static ExternalTool.Result Run(string directory, string[] arguments, bool qemu)
    {
        string[] absolute = [.. arguments.Select(a => FileName().Replace(a, m => Path.Combine(directory, m.Value)))];
        return absolute[0] == "io"
            ? qemu ? ExternalTool.Run("qemu-io", absolute[1..]) : Diskimg.Run(["io", .. absolute[1..]])
            : qemu ? ExternalTool.Run("qemu-img", absolute) : Diskimg.Run(absolute);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![\w/.])(src\.raw|src\.qcow2|missing|x\.img)(?![\w.])")]
    private static partial System.Text.RegularExpressions.Regex FileName();

    private static string Listing(TempDirectory dir) => string.Join(' ', Directory.EnumerateFileSystemEntries(dir.Path)
        .Order(StringComparer.Ordinal)
        .Select(p => Path.GetFileName(p) + (File.Exists(p) ? ":" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(p)))[..16] : "")));
}
