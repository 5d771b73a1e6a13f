using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// A <c>blkdebug:CONFIG:PATH</c> name whose image is a null node (<c>null-co://</c>, <c>null-aio://</c>) or a file named
/// with <c>file:</c>, compared with qemu-img/qemu-io 7.2 on the same command lines: the node opens with the null
/// driver below it (raw probed over it), is named by its rules file and its image's own name, maps as neither data nor
/// zero, and a null URL with more after it is refused in the null driver's words.
/// </summary>
public class BlkdebugOverNullInteropTests
{
    public static TheoryData<string, string> Lines => new()
    {
        { "qemu-img", "info blkdebug::null-co://" },
        { "qemu-img", "info --output=json blkdebug::null-aio://" },
        { "qemu-img", "info --output=json blkdebug:CONF:null-co://" },
        { "qemu-img", "info -f qcow2 blkdebug::null-co://" },
        { "qemu-img", "map blkdebug::null-co://" },
        { "qemu-img", "map --output=json blkdebug::null-co://" },
        { "qemu-img", "check blkdebug::null-co://" },
        { "qemu-img", "compare blkdebug::null-co:// null-co://" },
        { "qemu-img", "info blkdebug::null-co://x" },
        { "qemu-img", "map blkdebug::null-aio:x" },
        { "qemu-img", "info blkdebug::file:IMG" },
        { "qemu-img", "map blkdebug::file:IMG" },
        { "qemu-img", "map --output=json blkdebug::IMG" },
        { "qemu-io", "-c read_0_512 -c info -c write_0_512 -c map blkdebug::null-co://" },
        { "qemu-io", "-f raw -c info -c length -c map -c discard_0_512 -c write_-z_0_512 -c flush blkdebug:CONF:null-aio://" },
        { "qemu-io", "-c read_0_512 blkdebug::null-co://x" },
        { "qemu-io", "-c read_0_512 -c info blkdebug::file:IMG" },
    };

    [Theory]
    [MemberData(nameof(Lines))]
    public void Blkdebug_over_a_null_node_behaves_as_in_qemu(string tool, string line)
    {
        using var dir = new TempDirectory();
        var image = dir.File("t.raw");
        var config = dir.File("debug.conf");
        File.WriteAllText(config, "\n");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "1M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 7 0 64k", image);
        var words = line.Replace("IMG", image, StringComparison.Ordinal).Replace("CONF", config, StringComparison.Ordinal)
            .Split(' ').Select(w => w.Replace('_', ' ')).ToArray();

        var theirs = ExternalTool.Run(tool, words);
        var ours = Diskimg.Run(tool == "qemu-io" ? ["io", .. words] : words);

        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }
}
