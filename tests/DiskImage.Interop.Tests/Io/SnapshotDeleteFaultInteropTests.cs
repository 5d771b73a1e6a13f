using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// An error injected when snapshot deletion frees clusters (blkdebug's <c>cluster_free</c>, as iotest 217 injects it):
/// qemu-img 7.2 and diskimg delete the snapshot of identical images through the same rules file. Their messages and
/// exit codes must match, and <c>qemu-img check</c> must then find the same leaks in both, and repair both alike.
/// </summary>
public class SnapshotDeleteFaultInteropTests
{
    [Fact]
    public void A_failure_freeing_clusters_leaves_the_same_leaks_as_qemu_img()
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        var rules = dir.File("rules.conf");
        File.WriteAllText(rules, "[inject-error]\nevent = \"cluster_free\"\nerrno = \"5\"\n");
        ExternalTool.QemuImg("create", "-f", "qcow2", theirs, "64M");
        ExternalTool.QemuIo("-c", "write 0 64k", theirs);
        ExternalTool.QemuImg("snapshot", "-c", "foo", theirs);
        File.Copy(theirs, ours);

        var theirResult = ExternalTool.Run("qemu-img", "snapshot", "-d", "foo", $"blkdebug:{rules}:{theirs}");
        var ourResult = Diskimg.Run(["snapshot", "-d", "foo", $"blkdebug:{rules}:{ours}"]);

        Assert.Equal(1, theirResult.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(theirResult.StdErr, theirs), QemuToolOutput.Normalise(ourResult.StdErr, ours));
        Assert.Equal(theirResult.StdOut, ourResult.StdOut);
        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        Assert.Equal(ExternalTool.QemuImg("snapshot", "-l", theirs), ExternalTool.QemuImg("snapshot", "-l", ours));
        var theirCheck = ExternalTool.Run("qemu-img", "check", theirs);
        var ourCheck = ExternalTool.Run("qemu-img", "check", ours);
        Assert.Equal(3, theirCheck.ExitCode);
        Assert.Equal(theirCheck.StdOut.Replace(theirs, "IMG", StringComparison.Ordinal), ourCheck.StdOut.Replace(ours, "IMG", StringComparison.Ordinal));
        Assert.Equal(theirCheck.ExitCode, ourCheck.ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", "-r", "leaks", ours).ExitCode);
    }
}
