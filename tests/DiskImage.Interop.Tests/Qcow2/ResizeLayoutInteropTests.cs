using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// A converted qcow2 image grown by <c>resize</c> and then written past its old end, once by qemu-img/qemu-io 7.2 and
/// once by diskimg from identical copies: the files must come out byte for byte the same. This pins QEMU's L1 growth
/// (the table always moves to a fresh cluster at the end, the old one is freed without being discarded and is the
/// next cluster taken), a refcount block needed in the middle of a run continued at a given offset, and a tail past
/// the old end that holds no data (left without a zero flag).
/// </summary>
public class ResizeLayoutInteropTests
{
    public static TheoryData<string, string, int, string, string[]> Cases => new()
    {
        // Default clusters: the 24-byte L1 table moves to the end and the first new L2 table takes its old cluster.
        { "qemu", "cluster_size=64k", 16, "+1G", ["write -P 0xab 16M 3M", "write -P 0xcd 700M 1M"] },
        { "diskimg", "cluster_size=64k", 16, "+1G", ["write -P 0xab 15M 3M", "write -z 40M 1M", "write -P 0xcd 1000M 64k"] },
        // 4k clusters: a run continued right after the previous L2 table's run crosses the 8 MiB a refcount block
        // counts, so the new block lands inside it.
        { "qemu", "cluster_size=4k", 16, "+1G", ["write -P 1 17M 3M", "write -P 0xab 2304k 5M", "write -P 0xcd 900M 1M"] },
        { "diskimg", "cluster_size=4k,refcount_bits=1", 16, "+1G", ["write -P 1 17M 3M", "write -P 0xab 1M 6M"] },
        // 2M clusters over a 3 MiB disk: the old end cuts an unallocated cluster.
        { "diskimg", "cluster_size=2M", 3, "+1G", ["write -P 0xab 3M 3M"] },
        // A multi-cluster L1 table (512-byte clusters).
        { "qemu", "cluster_size=512,refcount_bits=64", 1, "+8G", ["write -P 0xab 1020k 8k", "write -P 0xcd 5G 4k"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Resize_then_writes_past_the_old_end_leave_qemu_s_bytes(string converter, string options, int megabytes, string growth, string[] writes)
    {
        using var dir = new TempDirectory();
        var raw = dir.File("in.raw");
        WriteSparseRaw(raw, megabytes);
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        string[] convert = ["convert", "-f", "raw", "-O", "qcow2", "-o", options, raw, theirs];
        if (converter == "qemu")
        {
            ExternalTool.QemuImg(convert);
        }
        else
        {
            Diskimg.Ok(convert);
        }

        File.Copy(theirs, ours);
        AssertSameRun(ExternalTool.Run("qemu-img", "resize", theirs, growth), Diskimg.Run("resize", ours, growth), theirs, ours);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));

        var commands = writes.SelectMany(w => new[] { "-c", w }).ToArray();
        AssertSameRun(ExternalTool.Run("qemu-io", [.. commands, theirs]), Diskimg.Run(["io", .. commands, ours]), theirs, ours);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
    }

    private static void AssertSameRun(ExternalTool.Result theirs, ExternalTool.Result ours, string theirImage, string ourImage)
    {
        Assert.Equal(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut, theirImage), QemuToolOutput.Normalise(ours.StdOut, ourImage));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr, theirImage), QemuToolOutput.Normalise(ours.StdErr, ourImage));
    }

    /// <summary>A raw disk with a few data runs in its first half and holes between and after them.</summary>
    private static void WriteSparseRaw(string path, int megabytes)
    {
        const int MiB = 1 << 20;
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.SetLength((long)megabytes * MiB);
        var random = new Random(megabytes);
        var chunk = new byte[MiB / 4];
        foreach (var start in new long[] { 0, MiB / 2, 2L * MiB, 5L * MiB, 7L * MiB + 4096 })
        {
            if (start + chunk.Length > file.Length / 2)
            {
                continue;
            }

            random.NextBytes(chunk);
            file.Position = start;
            file.Write(chunk);
        }
    }
}
