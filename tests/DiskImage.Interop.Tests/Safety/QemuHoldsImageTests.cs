using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// While qemu-io holds an image read-write, as a running VM holds its disk, every verb that would write it is
/// refused with qemu-img's own lines and exit code, and the image is left byte for byte as it was; verbs that
/// only read are refused too unless given <c>-U</c>, and with it print what qemu-img prints.
/// </summary>
public class QemuHoldsImageTests
{
    [Theory]
    [InlineData("snapshot -c s1 {img}")]
    [InlineData("snapshot -d s0 {img}")]
    [InlineData("resize {img} +1M")]
    [InlineData("amend -o lazy_refcounts=on {img}")]
    [InlineData("convert -n -O qcow2 {src} {img}")]
    [InlineData("rebase -u -b {none} {img}")]
    [InlineData("rebase -b {none} {img}")]
    [InlineData("check -r all {img}")]
    [InlineData("check -r leaks {img}")]
    [InlineData("commit {overlay}")]
    [InlineData("create -f qcow2 {img} 1M")]
    [InlineData("create -f raw {img} 1M")]
    [InlineData("convert -O qcow2 {src} {img}")]
    [InlineData("convert -O raw {src} {img}")]
    [InlineData("dd if={src} of={img} -O qcow2")]
    [InlineData("bench -w -c 1 {img}")]
    [InlineData("info {img}")]
    [InlineData("map {img}")]
    [InlineData("check {img}")]
    [InlineData("measure -O qcow2 {img}")]
    [InlineData("compare {img} {src}")]
    [InlineData("convert -O raw {img} {out}")]
    [InlineData("dd if={img} of={out}")]
    [InlineData("snapshot -l {img}")]
    [InlineData("snapshot -U -c s1 {img}")]
    [InlineData("check -U -r all {img}")]
    public void A_verb_on_an_image_in_use_fails_as_qemu_img_does_and_changes_nothing(string command)
    {
        using var dir = new TempDirectory();
        var files = Prepare(dir);
        var before = Sha256(files.Image);
        using var holder = ImageHolder.QemuIo(files.Image, format: "qcow2");
        var args = Expand(command, files);

        var theirs = ExternalTool.Run("qemu-img", args);
        var ours = Diskimg.Run(args);

        Assert.True(holder.IsRunning);
        Assert.NotEqual(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal), ours.StdErr);
        Assert.Equal(before, Sha256(files.Image));
        Assert.False(File.Exists(files.Output));
    }

    [Fact]
    public void Io_writes_are_refused_with_the_write_lock_message()
    {
        using var dir = new TempDirectory();
        var files = Prepare(dir);
        var before = Sha256(files.Image);
        using var holder = ImageHolder.QemuIo(files.Image, format: "qcow2");

        var theirs = ExternalTool.Run("qemu-io", "-c", "write 0 512", files.Image);
        var ours = Diskimg.Run("io", "-c", "write 0 512", files.Image);

        Assert.True(holder.IsRunning);
        Assert.Equal(1, theirs.ExitCode);
        Assert.Contains("Failed to get \"write\" lock\nIs another process using the image [" + files.Image + "]?\n", theirs.StdErr, StringComparison.Ordinal);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        // qemu-io's own lines ("can't open device ...: Failed to get "write" lock" and the hint), program name aside.
        Assert.Equal(theirs.StdErr.Replace("qemu-io: ", "diskimg: ", StringComparison.Ordinal), ours.StdErr);
        Assert.Equal(before, Sha256(files.Image));
    }

    [Theory]
    [InlineData("info -U {img}")]
    [InlineData("info --force-share --output=json {img}")]
    [InlineData("map -U {img}")]
    [InlineData("map -U --output=json {img}")]
    [InlineData("check -U {img}")]
    [InlineData("measure -U -O qcow2 {img}")]
    [InlineData("compare -U {img} {img}")]
    [InlineData("snapshot -U -l {img}")]
    public void Force_share_reads_an_image_in_use_as_qemu_img_does(string command)
    {
        using var dir = new TempDirectory();
        var files = Prepare(dir);
        using var holder = ImageHolder.QemuIo(files.Image, format: "qcow2");
        var args = Expand(command, files);

        var theirs = ExternalTool.Run("qemu-img", args);
        var ours = Diskimg.Run(args);

        Assert.True(holder.IsRunning);
        Assert.Equal(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdOut, ours.StdOut);
    }

    [Fact]
    public void Convert_with_force_share_copies_an_image_in_use()
    {
        using var dir = new TempDirectory();
        var files = Prepare(dir);
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x5a 64k 128k", files.Image);
        using var holder = ImageHolder.QemuIo(files.Image, format: "qcow2");

        Diskimg.Ok("convert", "-U", "-O", "raw", files.Image, files.Output);

        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-U", "-f", "qcow2", "-F", "raw", files.Image, files.Output).ExitCode);
    }

    private sealed record Files(string Image, string Overlay, string Source, string Output);

    private static Files Prepare(TempDirectory dir)
    {
        var image = dir.File("vm.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "16M");
        ExternalTool.QemuImg("snapshot", "-c", "s0", image);
        var overlay = dir.File("overlay.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", image, "-F", "qcow2", overlay);
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x11 0 64k", overlay);
        var source = dir.File("source.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", source, "16M");
        return new Files(image, overlay, source, dir.File("out.raw"));
    }

    private static string[] Expand(string command, Files files) => command.Split(' ').Select(a => a switch
    {
        "{img}" => files.Image,
        "{overlay}" => files.Overlay,
        "{src}" => files.Source,
        "{none}" => "",
        _ => a.Replace("{out}", files.Output, StringComparison.Ordinal).Replace("{img}", files.Image, StringComparison.Ordinal).Replace("{src}", files.Source, StringComparison.Ordinal),
    }).ToArray();

    private static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
