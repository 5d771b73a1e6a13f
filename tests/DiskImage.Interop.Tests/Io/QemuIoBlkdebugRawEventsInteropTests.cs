using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// The raw format over a blkdebug node raises <c>read_aio</c> before each read and <c>write_aio</c> before each write
/// on the node, as QEMU's raw driver does, so rules on those events act: through <c>json:</c> (inline rules), through
/// <c>-f raw blkdebug:CONF:FILE</c>, and with raw probed. qemu-io 7.2 and <c>diskimg io</c> run the same commands on
/// identical images; stdout (timings normalised), stderr (program name normalised), exit code and the image's bytes
/// must match.
/// </summary>
public class QemuIoBlkdebugRawEventsInteropTests
{
    private const string Rules = """
        [inject-error]
        event = "read_aio"
        errno = "5"
        once = "on"

        [inject-error]
        event = "write_aio"
        errno = "28"
        sector = "8"
        """;

    public static TheoryData<string, string[]> Cases => new()
    {
        { """json:{"driver":"raw","file":{"driver":"blkdebug","inject-error.0.event":"read_aio","inject-error.0.errno":"5","image":{"driver":"file","filename":"IMG"}}}""",
            ["read 0 512", "write -P 1 0 512", "read -P 1 0 512"] },
        { """json:{"driver":"raw","file":{"driver":"blkdebug","inject-error.0.event":"write_aio","inject-error.0.errno":"28","inject-error.0.once":"on","image":{"driver":"file","filename":"IMG"}}}""",
            ["write -P 2 0 4k", "write -P 3 0 4k", "read -P 3 0 4k"] },
        { """json:{"driver":"raw","offset":4096,"file":{"driver":"blkdebug","inject-error.0.event":"write_aio","inject-error.0.errno":"1","inject-error.0.sector":"16","image":{"driver":"file","filename":"IMG"}}}""",
            ["write -P 4 0 4k", "write -P 5 4k 4k", "read -P 4 0 4k"] },
        { "-f raw blkdebug:CONF:IMG", ["read 0 512", "read 0 512", "write -P 6 0 512", "write -P 7 4k 512", "read -P 7 4k 512"] },
        { "blkdebug:CONF:IMG", ["read 0 512", "read 512 512", "write -P 8 4k 512"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rules_on_raw_events_act_as_in_qemu_io(string name, string[] commands)
    {
        using var dir = new TempDirectory();
        var conf = dir.File("rules.conf");
        File.WriteAllText(conf, Rules + "\n");
        var results = new List<ExternalTool.Result>();
        var images = new List<string>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var image = dir.File(side + ".img");
            ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "1M");
            images.Add(image);
            var words = name.Replace("CONF", conf, StringComparison.Ordinal).Replace("IMG", image, StringComparison.Ordinal).Split(' ');
            string[] arguments = [.. commands.SelectMany(c => new[] { "-c", c }), .. words];
            var result = side == "theirs" ? ExternalTool.Run("qemu-io", arguments) : Diskimg.Run(["io", .. arguments]);
            results.Add(new ExternalTool.Result(result.ExitCode, QemuToolOutput.Normalise(result.StdOut, image), QemuToolOutput.Normalise(result.StdErr, image)));
        }

        Assert.Equal(results[0].StdOut, results[1].StdOut);
        Assert.Equal(results[0].StdErr, results[1].StdErr);
        Assert.Equal(results[0].ExitCode, results[1].ExitCode);
        Assert.Equal(File.ReadAllBytes(images[0]), File.ReadAllBytes(images[1]));
    }
}
