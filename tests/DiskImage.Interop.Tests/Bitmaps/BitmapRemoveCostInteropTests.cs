using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Bitmaps;

/// <summary>
/// <c>bitmap --remove</c> of a large, fully dirty bitmap (512-byte granularity: one data cluster per 256 MiB of
/// guest space) frees many clusters. It must cost no more syncs and no more discard calls than qemu-img's run on
/// a copy (both counted with strace), and leave the refcounts qemu-img leaves: the same check report.
/// </summary>
public sealed partial class BitmapRemoveCostInteropTests
{
    private const long GiB = 1L << 30;

    [Fact]
    public void Removing_a_large_bitmap_syncs_and_discards_no_more_often_than_qemu_img()
    {
        var strace = ExternalTool.Require("strace");
        using var dir = new TempDirectory();
        var seed = dir.File("seed.qcow2");
        const long size = 16 * GiB;
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", seed, "16G");
        ExternalTool.QemuImg("bitmap", "--add", "-g", "512", seed, "b0");
        // Zero writes mark the bitmap dirty without allocating data: every granule becomes dirty.
        var writes = new List<string>();
        for (var offset = 0L; offset < size; offset += GiB)
        {
            writes.AddRange(["-c", $"write -z {offset} 1G"]);
        }

        ExternalTool.QemuIo([.. writes, seed]);
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        File.Copy(seed, theirs);
        File.Copy(seed, ours);

        var theirTrace = dir.File("theirs.trace");
        ExternalTool.Run(strace, "-f", "-qq", "-e", "trace=fsync,fdatasync,fallocate", "-o", theirTrace, "qemu-img", "bitmap", "--remove", theirs, "b0")
            .EnsureSuccess("qemu-img bitmap --remove");
        var ourTrace = dir.File("ours.trace");
        ExternalTool.Run(strace, ["-f", "-qq", "-e", "trace=fsync,fdatasync,fallocate", "-o", ourTrace, .. DiskimgCommand(), "bitmap", "--remove", ours, "b0"])
            .EnsureSuccess("diskimg bitmap --remove");

        var (theirSyncs, theirDiscards) = Count(theirTrace);
        var (ourSyncs, ourDiscards) = Count(ourTrace);
        Assert.True(theirDiscards >= 64, $"qemu-img discarded {theirDiscards} times: the bitmap was not as large as meant");
        Assert.True(ourSyncs <= theirSyncs, $"diskimg synced {ourSyncs} times, qemu-img {theirSyncs}");
        Assert.True(ourDiscards <= theirDiscards, $"diskimg made {ourDiscards} discard calls, qemu-img {theirDiscards}");
        var theirCheck = ExternalTool.Run("qemu-img", "check", "--output=json", theirs);
        var ourCheck = ExternalTool.Run("qemu-img", "check", "--output=json", ours);
        Assert.Equal(0, ourCheck.ExitCode);
        Assert.Equal(theirCheck.StdOut.Replace(theirs, "IMAGE", StringComparison.Ordinal), ourCheck.StdOut.Replace(ours, "IMAGE", StringComparison.Ordinal));
        Assert.DoesNotContain("bitmaps", ExternalTool.QemuImg("info", ours), StringComparison.Ordinal);
    }

    /// <summary>The built diskimg as a command line of its own (the tests run it in-process elsewhere).</summary>
    private static string[] DiskimgCommand() =>
    [
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet",
        Path.Combine(AppContext.BaseDirectory, "diskimg.dll"),
    ];

    private static (int Syncs, int Discards) Count(string trace)
    {
        var lines = File.ReadAllLines(trace);
        return (lines.Count(l => SyncCall().IsMatch(l)), lines.Count(l => l.Contains("fallocate(", StringComparison.Ordinal)));
    }

    [GeneratedRegex(@"\bf(data)?sync\(")]
    private static partial Regex SyncCall();
}
