using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Ssh;

/// <summary>
/// A convert into a server whose file system fills up mid-write (a small tmpfs mounted under the sftp root; only
/// root may mount, elsewhere the test returns): it fails with qemu-img's exit code and errno, the input is untouched,
/// and, where qemu-img leaves its partial image (which passes qemu-img's check), nothing is left at the target's name
/// nor beside it. (The words before the errno differ: CONFORMANCE, "Images over SSH".)
/// </summary>
public partial class SshInteropTests
{
    [Fact]
    public void Convert_into_a_full_server_fails_with_qemu_imgs_errno_and_leaves_nothing_corrupt()
    {
        var source = Image("full-source.raw", "raw", "4M", "write -P 0x5c 0 4M");
        var sourceBytes = File.ReadAllBytes(source);
        var mountPoint = Local("full");
        Directory.CreateDirectory(mountPoint);
        using var tmpfs = SmallTmpfs.TryMount(mountPoint, "2m");
        if (tmpfs is null)
        {
            Assert.NotEqual("true", Environment.GetEnvironmentVariable("CI"));
            return;
        }

        var target = Path.Combine(mountPoint, "t.qcow2");
        string[] arguments = ["convert", "-O", "qcow2", source, server.Uri("full/t.qcow2")];
        var theirs = ExternalTool.Run("qemu-img", arguments);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", target).ExitCode);
        File.Delete(target);

        var ours = Diskimg.Run(arguments);
        Assert.Equal(1, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        var errno = theirs.StdErr.Trim()[(theirs.StdErr.Trim().LastIndexOf(": ", StringComparison.Ordinal) + 2)..];
        Assert.Equal("Input/output error", errno);
        Assert.EndsWith(": " + errno, ours.StdErr.Trim().Split('\n')[0], StringComparison.Ordinal);
        Assert.Equal(sourceBytes, File.ReadAllBytes(source));
        // Unlike qemu-img's, the failed image is not left behind: nothing at the target's name, no temporary beside it.
        Assert.False(File.Exists(target), "the failed convert left a file at the target's name");
        Assert.Empty(Directory.GetFileSystemEntries(mountPoint));
    }
}
