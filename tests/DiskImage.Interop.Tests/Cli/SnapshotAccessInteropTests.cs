using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// The snapshot-access filter over a plain file (<c>-f snapshot-access</c>, <c>--image-opts</c>, <c>json:</c>): qemu-img's
/// info shows the node, and every read, write and block-status request fails with ENOTSUP, each verb saying so in its
/// words. Each line runs with qemu-img (or qemu-io) and diskimg in twin directories; stdout, stderr (program name,
/// directory and timings normalised), exit code and the files' bytes must be equal.
/// </summary>
public partial class SnapshotAccessInteropTests(DriverNameFiles files) : IClassFixture<DriverNameFiles>
{
    private static readonly string[][] Lines =
    [
        ["info", "-f", "snapshot-access", "src.raw"],
        ["info", "--output=json", "-f", "snapshot-access", "src.raw"],
        ["info", "--image-opts", "driver=snapshot-access,file.filename=src.raw"],
        ["info", "json:{\"driver\": \"snapshot-access\", \"file\": {\"driver\": \"file\", \"filename\": \"src.raw\"}}"],
        ["map", "-f", "snapshot-access", "src.raw"],
        ["map", "--output=json", "-f", "snapshot-access", "src.raw"],
        ["check", "-f", "snapshot-access", "src.raw"],
        ["convert", "-f", "snapshot-access", "-O", "raw", "src.raw", "tgt.raw"],
        ["measure", "-f", "snapshot-access", "src.raw"],
        ["compare", "-f", "snapshot-access", "src.raw", "src.raw"],
        ["compare", "-F", "snapshot-access", "src.raw", "tgt.raw"],
        ["resize", "-f", "snapshot-access", "src.raw", "2M"],
        ["io", "-f", "snapshot-access", "-c", "read 0 4k", "-c", "write 0 4k", "-c", "map", "-c", "info", "-c", "discard 0 4k", "-c", "flush", "-c", "length", "src.raw"],
        ["io", "-f", "snapshot-access", "-c", "write -z 0 4k", "-c", "alloc 0 4k", "-c", "truncate 1M", "src.raw"],
        ["io", "-r", "-f", "snapshot-access", "-c", "read -P 0x5a 0 4k", "src.raw"],

        // copy-before-write with its target takes write permission on it: a read-only open is refused.
        ["info", "json:{\"driver\": \"copy-before-write\", \"file\": {\"driver\": \"file\", \"filename\": \"src.raw\"}, \"target\": {\"driver\": \"file\", \"filename\": \"tgt.raw\"}}"],
        ["map", "--image-opts", "driver=copy-before-write,file.filename=src.raw,target.driver=file,target.filename=tgt.raw"],
        ["io", "-r", "-c", "read 0 4k", "json:{\"driver\": \"copy-before-write\", \"file\": {\"driver\": \"file\", \"filename\": \"src.raw\"}, \"target\": {\"driver\": \"file\", \"filename\": \"tgt.raw\"}}"],
    ];

    public static TheoryData<string[]> Cases()
    {
        var data = new TheoryData<string[]>();
        foreach (var line in Lines)
        {
            data.Add(line);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_request_fails_as_qemu_s_does(string[] arguments)
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

    private static ExternalTool.Result Run(string directory, string[] arguments, bool qemu)
    {
        string[] absolute = [.. arguments.Select(a => FileName().Replace(a, m => Path.Combine(directory, m.Value)))];
        return absolute[0] == "io"
            ? qemu ? ExternalTool.Run("qemu-io", absolute[1..]) : Diskimg.Run(["io", .. absolute[1..]])
            : qemu ? ExternalTool.Run("qemu-img", absolute) : Diskimg.Run(absolute);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![\w/.])(src\.raw|tgt\.raw)(?![\w.])")]
    private static partial System.Text.RegularExpressions.Regex FileName();

    private static string Listing(TempDirectory dir) => string.Join(' ', Directory.EnumerateFileSystemEntries(dir.Path)
        .Order(StringComparer.Ordinal)
        .Select(p => Path.GetFileName(p) + (File.Exists(p) ? ":" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(p)))[..16] : "")));
}
