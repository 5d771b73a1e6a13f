using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Qcow2;
using static DiskImage.Interop.Tests.Lifecycle.LifecycleOracle;

namespace DiskImage.Interop.Tests.Lifecycle;

/// <summary>
/// <c>amend -o refcount_bits=N</c> on images qemu-img made. Each step runs qemu-img amend on a copy first:
/// where QEMU refuses (a refcount too large for the new width) we must refuse with its words and leave the
/// file untouched; where it succeeds, qemu-img must see the new width, a clean image and the same content,
/// for the active layer and every snapshot.
/// </summary>
public class AmendRefcountWidthInteropTests
{
    private static readonly int[] Widths = [64, 1, 32, 2, 8, 4, 1, 16, 2, 64, 16];

    [Theory]
    [InlineData("cluster_size=512")]
    [InlineData("cluster_size=4096")]
    [InlineData("cluster_size=65536")]
    [InlineData("cluster_size=65536,lazy_refcounts=on,refcount_bits=1")]
    public void Every_width_there_and_back_matches_qemu_img(string createOptions) => AmendThroughWidths(createOptions, Widths, qemuAmendsToo: true);

    /// <summary>
    /// qemu-img 7.2's own width change takes minutes per step with 512 KiB clusters or larger (its work grows with
    /// the square of the cluster size), so here only its check, info and compare judge, on widths every refcount fits.
    /// </summary>
    [Fact]
    public void Two_megabyte_clusters_change_width_cleanly() =>
        AmendThroughWidths("cluster_size=2097152,refcount_bits=8", [64, 4, 32, 16, 8], qemuAmendsToo: false);

    private static void AmendThroughWidths(string createOptions, int[] widths, bool qemuAmendsToo)
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        Qcow2Oracle.Create(image, "48M", createOptions);
        if (!createOptions.Contains("refcount_bits=1", StringComparison.Ordinal))
        {
            Qcow2Oracle.Io(image, "write -P 1 0 3M", "write -c -P 2 8M 2M", "write -z 20M 1M");
            ExternalTool.QemuImg("snapshot", "-c", "first", image);
            Qcow2Oracle.Io(image, "write -P 3 1M 1M", "write -c -P 4 40M 2M");
            ExternalTool.QemuImg("snapshot", "-c", "second", image);
            Qcow2Oracle.Io(image, "write -P 5 2M 64k", "discard 8M 128k");
        }
        else
        {
            // Refcount 1 everywhere: no snapshots, no shared compressed clusters.
            Qcow2Oracle.Io(image, "write -P 1 0 3M", "write -P 6 30M 5M", "write -z 20M 1M");
        }

        var original = new Original(dir, image);
        var accepted = 0;
        var refused = 0;
        foreach (var bits in widths)
        {
            var option = $"refcount_bits={bits}";
            var byQemu = dir.File("by-qemu.qcow2");
            File.Copy(image, byQemu, overwrite: true);
            var qemu = qemuAmendsToo ? ExternalTool.Run("qemu-img", "amend", "-f", "qcow2", "-o", option, byQemu) : new ExternalTool.Result(0, "", "");
            var before = File.ReadAllBytes(image);
            var ours = Diskimg.Run("amend", "-f", "qcow2", "-o", option, image);
            Assert.True((qemu.ExitCode == 0) == (ours.ExitCode == 0), $"{option}: qemu-img exited {qemu.ExitCode} ({qemu.StdErr.Trim()}), diskimg {ours.ExitCode} ({ours.StdErr.Trim()})");
            if (qemu.ExitCode != 0)
            {
                Assert.Equal(StripTool(qemu.StdErr), StripTool(ours.StdErr));
                Assert.Equal(before, File.ReadAllBytes(image));
                refused++;
                continue;
            }

            accepted++;
            Assert.Contains($"refcount bits: {bits}\n", ExternalTool.QemuImg("info", image), StringComparison.Ordinal);
            AssertClean(image);
            AssertSameGuestContent(dir, original, image);
        }

        Assert.True(accepted >= 4, $"only {accepted} widths were accepted");
        if (qemuAmendsToo && !createOptions.Contains("refcount_bits=1", StringComparison.Ordinal))
        {
            Assert.True(refused > 0, "no width was refused although snapshots share clusters");
        }
    }

    [Fact]
    public void Width_changes_combine_with_compat_and_lazy_refcounts()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        Qcow2Oracle.Create(image, "8M", "compat=0.10");
        Qcow2Oracle.Io(image, "write -P 9 0 1M", "write -c -P 8 4M 256k");
        ExternalTool.QemuImg("snapshot", "-c", "s", image);
        var original = new Original(dir, image);

        Diskimg.Ok("amend", "-o", "compat=1.1,refcount_bits=8,lazy_refcounts=on", image);
        var info = ExternalTool.QemuImg("info", image);
        Assert.Contains("compat: 1.1", info, StringComparison.Ordinal);
        Assert.Contains("refcount bits: 8\n", info, StringComparison.Ordinal);
        Assert.Contains("lazy refcounts: true", info, StringComparison.Ordinal);
        AssertClean(image);
        AssertSameGuestContent(dir, original, image);

        Diskimg.Ok("amend", "-o", "compat=0.10,refcount_bits=16,lazy_refcounts=off", image);
        info = ExternalTool.QemuImg("info", image);
        Assert.Contains("compat: 0.10", info, StringComparison.Ordinal);
        Assert.Contains("refcount bits: 16\n", info, StringComparison.Ordinal);
        AssertClean(image);
        AssertSameGuestContent(dir, original, image);
    }

    [Theory]
    [InlineData("compat=0.10", "refcount_bits=8")]
    [InlineData("compat=1.1,refcount_bits=4", "compat=0.10,refcount_bits=8")]
    [InlineData("compat=1.1,refcount_bits=4", "compat=0.10")]
    [InlineData("compat=1.1", "refcount_bits=3")]
    [InlineData("compat=1.1", "refcount_bits=128")]
    [InlineData("compat=1.1", "refcount_bits=0")]
    public void Refusals_match_qemu_img_and_leave_the_file_untouched(string createOptions, string amendOptions)
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        Qcow2Oracle.Create(image, "4M", createOptions);
        Qcow2Oracle.Io(image, "write -P 1 0 1M");
        var byQemu = dir.File("by-qemu.qcow2");
        File.Copy(image, byQemu);
        var before = File.ReadAllBytes(image);

        var qemu = ExternalTool.Run("qemu-img", "amend", "-f", "qcow2", "-o", amendOptions, byQemu);
        var ours = Diskimg.Run("amend", "-f", "qcow2", "-o", amendOptions, image);
        Assert.NotEqual(0, qemu.ExitCode);
        Assert.Equal(qemu.ExitCode, ours.ExitCode);
        Assert.Equal(StripTool(qemu.StdErr), StripTool(ours.StdErr));
        Assert.Equal(before, File.ReadAllBytes(image));
    }

    private static string StripTool(string stderr)
    {
        var line = stderr.Trim();
        foreach (var prefix in new[] { "qemu-img: ", "diskimg: " })
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..];
            }
        }

        return line;
    }

    /// <summary>
    /// A copy of the image before any amend, and each snapshot's content as qemu-img converts it to raw, made once
    /// per test rather than at every step (the copy never changes).
    /// </summary>
    private sealed class Original(TempDirectory dir, string image)
    {
        private readonly Dictionary<string, string> _snapshotRaws = new(StringComparer.Ordinal);

        public string Path { get; } = Copy(dir, image);

        public IReadOnlyList<string> SnapshotNames { get; } = AmendRefcountWidthInteropTests.SnapshotNames(image);

        public string SnapshotRaw(string name)
        {
            if (!_snapshotRaws.TryGetValue(name, out var raw))
            {
                raw = dir.File($"original-{_snapshotRaws.Count}.raw");
                ExternalTool.QemuImg("convert", "-f", "qcow2", "-l", $"snapshot.name={name}", "-O", "raw", Path, raw);
                _snapshotRaws[name] = raw;
            }

            return raw;
        }

        private static string Copy(TempDirectory dir, string image)
        {
            var original = dir.File("original.qcow2");
            File.Copy(image, original);
            return original;
        }
    }

    /// <summary>qemu-img compare finds the active layer and every snapshot of both images identical.</summary>
    private static void AssertSameGuestContent(TempDirectory dir, Original expected, string actual)
    {
        var compare = ExternalTool.Run("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", expected.Path, actual);
        Assert.True(compare.ExitCode == 0, $"qemu-img compare exited {compare.ExitCode}: {compare.StdOut}{compare.StdErr}");
        foreach (var name in expected.SnapshotNames)
        {
            var right = dir.File("right.raw");
            ExternalTool.QemuImg("convert", "-f", "qcow2", "-l", $"snapshot.name={name}", "-O", "raw", actual, right);
            var snapshotCompare = ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "raw", expected.SnapshotRaw(name), right);
            Assert.True(snapshotCompare.ExitCode == 0, $"snapshot {name}: qemu-img compare exited {snapshotCompare.ExitCode}: {snapshotCompare.StdOut}");
            File.Delete(right);
        }
    }

    private static List<string> SnapshotNames(string path)
    {
        using var document = System.Text.Json.JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", path));
        return document.RootElement.TryGetProperty("snapshots", out var snapshots)
            ? [.. snapshots.EnumerateArray().Select(s => s.GetProperty("name").GetString()!)]
            : [];
    }
}
