using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Bitmaps;

/// <summary>
/// Storing the persistent bitmaps at close on a full disk (a small tmpfs, when the tests may mount one):
/// qemu-img/qemu-io warn that the bitmaps are lost, leave them <c>in_use</c> and exit 0. The same run of
/// diskimg on a copy must print the same warning, exit the same way and leave the same bytes.
/// </summary>
public sealed partial class BitmapFullDiskInteropTests
{
    [Theory]
    [InlineData("bitmap")] // a new bitmap to store: the existing one's table write fails first
    [InlineData("io")]     // a guest write makes the bitmap dirty: its data cluster cannot be written
    public void Storing_bitmaps_on_a_full_disk_warns_exits_0_and_leaves_qemus_bytes(string verb)
    {
        using var dir = new TempDirectory();
        var seed = dir.File("seed.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", seed, "64M");
        ExternalTool.QemuIo("-c", "write -P 1 0 128k", seed);
        ExternalTool.QemuImg("bitmap", "--add", seed, "b0");
        var small = Directory.CreateDirectory(dir.File("small")).FullName;
        using var tmpfs = SmallTmpfs.TryMount(small, "2m");
        if (tmpfs is null)
        {
            // Only root may mount a filesystem small enough to fill.
            Assert.NotEqual("root", Environment.UserName);
            return;
        }

        // Written out whole (no holes), so only new clusters need space.
        var theirsPath = Path.Combine(small, "theirs.qcow2");
        var oursPath = Path.Combine(small, "ours.qcow2");
        File.WriteAllBytes(theirsPath, File.ReadAllBytes(seed));
        File.WriteAllBytes(oursPath, File.ReadAllBytes(seed));
        tmpfs.Fill("fill");

        var theirs = verb == "bitmap"
            ? ExternalTool.Run("qemu-img", "bitmap", "--add", theirsPath, "b1")
            : ExternalTool.Run("qemu-io", "-c", "write -P 2 0 64k", theirsPath);
        var ours = verb == "bitmap"
            ? Diskimg.Run("bitmap", "--add", oursPath, "b1")
            : Diskimg.Run("io", "-c", "write -P 2 0 64k", oursPath);

        Assert.Equal(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Matches(Warning(), theirs.StdErr);
        Assert.Equal(Normalize(theirs.StdErr), Normalize(ours.StdErr));
        Assert.Equal(File.ReadAllBytes(theirsPath), File.ReadAllBytes(oursPath));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", oursPath).ExitCode);
        Assert.Contains("in-use", ExternalTool.QemuImg("info", oursPath), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^[\w.-]+: Lost persistent bitmaps during inactivation of node '#block\d+': Failed to write bitmap 'b0' to file: No space left on device\n$")]
    private static partial Regex Warning();

    /// <summary>The warning without the program name and QEMU's automatic node name, which varies from run to run.</summary>
    private static string Normalize(string stderr) =>
        Regex.Replace(Regex.Replace(stderr, @"^[\w.-]+: ", "", RegexOptions.Multiline), "#block[0-9]+", "#block");
}
