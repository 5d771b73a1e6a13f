using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// An image that cannot be opened is reported in qemu-img's words, "Could not open 'NAME': REASON", with
/// the backing file's context where the backing file is at fault: the same line qemu-img prints, with
/// only the program name changed, and the same exit code.
/// </summary>
public class OpenErrorWordingTests
{
    [Theory]
    [InlineData("info {missing}")]
    [InlineData("info {bad}")]
    [InlineData("check {bad}")]
    [InlineData("map {missing}")]
    [InlineData("convert -O raw {bad} {target}")]
    [InlineData("convert -O raw {overlay} {target}")]
    [InlineData("info --backing-chain {overlay}")]
    [InlineData("compare {good} {bad}")]
    [InlineData("snapshot -l {bad}")]
    [InlineData("resize {bad} 2M")]
    [InlineData("measure -O qcow2 {missing}")]
    [InlineData("amend -o compat=1.1 {bad}")]
    [InlineData("commit {overlay}")]
    [InlineData("rebase -b {bad} -F qcow2 {good}")]
    [InlineData("rebase -b {missing} -F qcow2 {good}")]
    public void Open_failures_read_as_qemu_img_s(string command)
    {
        using var dir = new TempDirectory();
        var bad = dir.File("bad.qcow2");
        // A qcow2 header with version 9: every verb must refuse to open it.
        var header = new byte[1024];
        byte[] magicAndVersion = [(byte)'Q', (byte)'F', (byte)'I', 0xfb, 0, 0, 0, 9];
        magicAndVersion.CopyTo(header, 0);
        File.WriteAllBytes(bad, header);
        var good = dir.File("good.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", good, "1M");
        var overlay = dir.File("overlay.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", bad, "-F", "qcow2", "-u", overlay, "1M");

        var args = command.Split(' ').Select(a => a
            .Replace("{missing}", dir.File("missing.qcow2"), StringComparison.Ordinal)
            .Replace("{bad}", bad, StringComparison.Ordinal)
            .Replace("{good}", good, StringComparison.Ordinal)
            .Replace("{overlay}", overlay, StringComparison.Ordinal)
            .Replace("{target}", dir.File("out.raw"), StringComparison.Ordinal)).ToArray();
        var theirs = ExternalTool.Run("qemu-img", args);
        var ours = Diskimg.Run(args);

        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(LastLine(theirs.StdErr).Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal), LastLine(ours.StdErr));
    }

    private static string LastLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
}
