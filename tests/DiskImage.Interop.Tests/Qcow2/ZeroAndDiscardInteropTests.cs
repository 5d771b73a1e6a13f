using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// Zero writes and discards on version 2 and 3 images, with and without a backing file, run by qemu-io on one
/// copy and by <c>diskimg io</c> on another: the guest content must be the same (qemu-img compare), and so
/// must what qemu-img map reports for the top layer (zero clusters where QEMU makes them, QEMU's test 154;
/// nothing deallocated over a version-2 backing file, test 290) and the allocated cluster count.
/// </summary>
public class ZeroAndDiscardInteropTests
{
    public static TheoryData<string, bool, string> Cases()
    {
        var data = new TheoryData<string, bool, string>();
        string[] sequences =
        [
            "write -z 0 64k", "write -z 0 4k", "write -z 60k 8k", "write -z 30k 8k", "write -z 0 100k", "write -z -u 0 128k",
            "write -P 1 0 128k;write -z 0 64k", "write -P 1 0 128k;write -z 0 4k", "write -P 1 0 128k;write -z -u 0 64k",
            "write -P 1 0 128k;discard 0 64k", "write -P 1 0 128k;discard 4k 64k", "write -P 1 0 128k;discard 0 4k",
            "write -P 1 0 128k;discard 0 1M", "write -P 1 0 1M;discard 64k 192k;write -P 2 512k 64k",
        ];
        foreach (var compat in new[] { "1.1", "0.10" })
        {
            foreach (var backing in new[] { false, true })
            {
                foreach (var sequence in sequences)
                {
                    data.Add(compat, backing, sequence);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Zero_writes_and_discards_leave_what_qemu_io_leaves(string compat, bool backing, string sequence)
    {
        using var dir = new TempDirectory();
        var theirs = Make(dir, "theirs.qcow2", compat, backing);
        var ours = Make(dir, "ours.qcow2", compat, backing);
        var commands = sequence.Split(';').SelectMany(c => new[] { "-c", c }).ToArray();

        ExternalTool.QemuIo(["-f", "qcow2", .. commands, theirs]);
        Diskimg.Ok(["io", "-f", "qcow2", .. commands, ours]);

        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", theirs, ours).ExitCode);
        Assert.Equal(TopLayer(theirs), TopLayer(ours));
        Assert.Equal(Allocated(theirs), Allocated(ours));
    }

    [Fact]
    public void A_discard_on_a_version_2_overlay_keeps_the_overlay_s_data()
    {
        // QEMU's test 290: the backing file's 0xff must not come back where the overlay wrote 0x01.
        using var dir = new TempDirectory();
        var overlay = Make(dir, "overlay.qcow2", "0.10", backing: true);
        Diskimg.Ok("io", "-f", "qcow2", "-c", "write -P 0x01 0 128k", "-c", "discard 0 64k", overlay);
        var read = ExternalTool.QemuIo("-f", "qcow2", "-c", "read -P 0x01 0 128k", overlay);
        Assert.DoesNotContain("Pattern verification failed", read, StringComparison.Ordinal);
    }

    [Fact]
    public void Freed_clusters_are_reused_as_qemu_reuses_them()
    {
        // QEMU's test 250: discarded space is taken again by later writes, so the file does not grow.
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        foreach (var path in new[] { theirs, ours })
        {
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=1M,preallocation=metadata", path, "300M");
        }

        string[] commands = ["-c", "discard 0 10M", "-c", "discard 290M 10M", "-c", "write 290M 10M", "-c", "write 0 10M"];
        ExternalTool.QemuIo(["-f", "qcow2", .. commands, theirs]);
        Diskimg.Ok(["io", "-f", "qcow2", .. commands, ours]);
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", theirs), ExternalTool.QemuImg("map", "--output=json", ours));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
    }

    private static string Make(TempDirectory dir, string name, string compat, bool backing)
    {
        var path = dir.File(name);
        if (!backing)
        {
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", $"compat={compat}", path, "1M");
            return path;
        }

        var basePath = dir.File("base-" + name);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", $"compat={compat}", basePath, "1M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0xff 0 128k", "-c", "write -P 0xee 32k 4k", basePath);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", $"compat={compat}", "-b", basePath, "-F", "qcow2", path);
        return path;
    }

    /// <summary>The map rows of the image's own layer (offsets stripped: host placement may differ).</summary>
    private static string[] TopLayer(string path) =>
        ExternalTool.QemuImg("map", "--output=json", path).Split('\n')
            .Where(l => l.Contains("\"depth\": 0", StringComparison.Ordinal))
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l, @", ""offset"": \d+", ""))
            .ToArray();

    private static string Allocated(string path) =>
        ExternalTool.QemuImg("check", path).Split('\n').FirstOrDefault(l => l.Contains("allocated", StringComparison.Ordinal)) ?? "";
}
