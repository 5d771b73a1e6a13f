using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// A VM-like holder of a backing file or an overlay: qemu-io reading the base of a chain (as a running VM
/// reads its backing file) or writing the overlay. Committing into such a base, or from such an overlay, is
/// refused with qemu-img's lines and exit code, and neither file changes.
/// </summary>
public class BackingFileHeldTests
{
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public void Commit_is_refused_as_qemu_img_refuses_it(bool holdBaseReadOnly, bool holdOverlay)
    {
        using var dir = new TempDirectory();
        var (backing, overlay) = Chain(dir);
        var baseBefore = Sha256(backing);
        var overlayBefore = Sha256(overlay);
        using var holder = holdOverlay
            ? ImageHolder.QemuIo(overlay, format: "qcow2")
            : ImageHolder.QemuIo(backing, readOnly: holdBaseReadOnly, format: "qcow2");

        var theirs = ExternalTool.Run("qemu-img", "commit", overlay);
        var ours = Diskimg.Run("commit", overlay);

        Assert.True(holder.IsRunning);
        Assert.Equal(1, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal), ours.StdErr);
        Assert.Equal(baseBefore, Sha256(backing));
        Assert.Equal(overlayBefore, Sha256(overlay));
    }

    [Fact]
    public void Commit_works_once_the_holder_is_gone()
    {
        using var dir = new TempDirectory();
        var (backing, overlay) = Chain(dir);
        using (ImageHolder.QemuIo(backing, readOnly: true, format: "qcow2"))
        {
            Assert.Equal(1, Diskimg.Run("commit", overlay).ExitCode);
        }

        Diskimg.Ok("commit", overlay);

        Assert.Contains("No errors were found", ExternalTool.QemuImg("check", backing), StringComparison.Ordinal);
        Assert.Contains("read 65536/65536 bytes", ExternalTool.QemuIo("-f", "qcow2", "-c", "read -P 0x44 0 64k", backing), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("convert -O raw {overlay} {out}")]
    [InlineData("convert -U -O raw {overlay} {out}")]
    [InlineData("map {overlay}")]
    [InlineData("rebase -b {none} {overlay}")]
    public void Reading_through_a_backing_file_another_process_writes_matches_qemu_img(string command)
    {
        using var dir = new TempDirectory();
        var (backing, overlay) = Chain(dir);
        var output = dir.File("out.raw");
        using var holder = ImageHolder.QemuIo(backing, format: "qcow2");
        var args = command.Split(' ').Select(a => a switch
        {
            "{overlay}" => overlay,
            "{out}" => output,
            "{none}" => "",
            _ => a,
        }).ToArray();

        var theirs = ExternalTool.Run("qemu-img", args);
        File.Delete(output);
        var ours = Diskimg.Run(args);

        Assert.True(holder.IsRunning);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal), ours.StdErr);
    }

    private static (string Backing, string Overlay) Chain(TempDirectory dir)
    {
        var backing = dir.File("base.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", backing, "16M");
        var overlay = dir.File("overlay.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", overlay);
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x44 0 64k", overlay);
        return (backing, overlay);
    }

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
