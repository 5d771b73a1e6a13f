using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Qcow2;
using static DiskImage.Interop.Tests.Lifecycle.LifecycleOracle;

namespace DiskImage.Interop.Tests.Lifecycle;

public class ResizeInteropTests
{
    [Theory]
    [InlineData("off")]
    [InlineData("falloc")]
    [InlineData("full")]
    public void Raw_images_grow_and_shrink_like_qemu_img(string preallocation)
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.raw");
        var model = new byte[MiB];
        new Random(1).NextBytes(model);
        File.WriteAllBytes(image, model);
        Assert.Equal("Image resized.\n", Diskimg.Ok("resize", "-f", "raw", $"--preallocation={preallocation}", image, "+1M"));
        Array.Resize(ref model, 2 * MiB);
        AssertContent(image, model, "raw");
        if (preallocation == "full")
        {
            Assert.True(new FileInfo(image).Length == 2 * MiB);
        }

        var refused = Diskimg.Run("resize", "-f", "raw", image, "700K");
        Assert.Equal(1, refused.ExitCode);
        // qemu-img's refusal and its warning line.
        Assert.Equal(
            "diskimg: Use the --shrink option to perform a shrink operation.\ndiskimg: warning: Shrinking an image will delete all data beyond the shrunken image's end. Before performing such an operation, make sure there is no important data there.",
            refused.StdErr.Trim());
        Diskimg.Ok("resize", "-f", "raw", "--shrink", image, "700K");
        Array.Resize(ref model, 700 * 1024);
        AssertContent(image, model, "raw");
    }

    [Theory]
    [InlineData("cluster_size=512", "off")]
    [InlineData("cluster_size=4k", "metadata")]
    [InlineData("", "falloc")]
    [InlineData("extended_l2=on,cluster_size=16k", "full")]
    [InlineData("compat=0.10", "off")]
    public void Qcow2_grows_past_its_l1_table_and_preallocates_cleanly(string options, string preallocation)
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        Qcow2Oracle.Create(image, "1M", options);
        var model = new byte[MiB];
        Write(image, model, 1000, 200_000, 3);
        Write(image, model, MiB - 4096, 4096, 4);
        Diskimg.Ok("resize", $"--preallocation={preallocation}", image, "+15M");
        Array.Resize(ref model, 16 * MiB);
        Assert.Equal(16L * MiB, VirtualSize(image));
        AssertClean(image);
        AssertContent(image, model);
        Write(image, model, 15 * MiB, 65536, 5);
        AssertClean(image);
        AssertContent(image, model);
        if (preallocation != "off" && options.Contains("extended_l2=on", StringComparison.Ordinal))
        {
            // QEMU leaves the subclusters of preallocated clusters unallocated: the grown part must map as in its resize.
            var theirs = dir.File("theirs.qcow2");
            Qcow2Oracle.Create(theirs, "1M", options);
            ExternalTool.QemuImg("resize", "-q", $"--preallocation={preallocation}", theirs, "+15M");
            static string Kinds(string path) => System.Text.RegularExpressions.Regex.Replace(
                ExternalTool.QemuImg("map", "--output=json", "--start-offset=1M", "--max-length=14M", path), @", ""offset"": \d+", "");
            Assert.Equal(Kinds(theirs), Kinds(image));
        }
        else if (preallocation != "off")
        {
            var map = ExternalTool.QemuImg("map", "--output=json", "--start-offset=1M", image);
            Assert.DoesNotContain("\"data\": false", map, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("cluster_size=4k")]
    [InlineData("")]
    [InlineData("extended_l2=on,cluster_size=32k")]
    public void Qcow2_shrink_releases_clusters_and_keeps_snapshots_intact(string options)
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        Qcow2Oracle.Create(image, "8M", options);
        var model = new byte[8 * MiB];
        Write(image, model, 0, 8 * MiB, 1);
        Diskimg.Ok("snapshot", "-c", "full", image);
        var snapshot = (byte[])model.Clone();
        Write(image, model, 6 * MiB, MiB, 2);
        var refused = Diskimg.Run("resize", image, "3M");
        Assert.Equal(1, refused.ExitCode);
        Diskimg.Ok("resize", "--shrink", image, "3M");
        Array.Resize(ref model, 3 * MiB);
        Assert.Equal(3L * MiB, VirtualSize(image));
        AssertClean(image);
        AssertContent(image, model);
        // As qemu-img convert -l, a snapshot is read at the image's current size.
        AssertContent(image, snapshot[..(3 * MiB)], snapshot: "snapshot.name=full");
        Diskimg.Ok("resize", image, "5M");
        Array.Resize(ref model, 5 * MiB);
        AssertContent(image, model);
        Diskimg.Ok("snapshot", "-d", "full", image);
        AssertClean(image);
        Diskimg.Ok("resize", "--shrink", image, "1M");
        AssertClean(image);
        // The file ends with the last cluster still in use, as after qemu-img's shrink.
        using var check = System.Text.Json.JsonDocument.Parse(ExternalTool.QemuImg("check", "--output=json", image));
        Assert.Equal(check.RootElement.GetProperty("image-end-offset").GetInt64(), new FileInfo(image).Length);
    }

    [Theory]
    [InlineData("cluster_size=4k")]
    [InlineData("compat=0.10")]
    [InlineData("extended_l2=on,cluster_size=32k")]
    public void Growing_an_overlay_reads_zeroes_where_the_longer_backing_file_was_cut_off(string options)
    {
        using var dir = new TempDirectory();
        var backing = dir.File("base.raw");
        var backingBytes = new byte[2 * MiB];
        new Random(7).NextBytes(backingBytes);
        File.WriteAllBytes(backing, backingBytes);
        var ours = dir.File("ours.qcow2");
        Qcow2Oracle.Create(ours, "2M", options + (options.Length > 0 ? "," : "") + "backing_file=base.raw,backing_fmt=raw");
        var theirs = dir.File("theirs.qcow2");
        File.Copy(ours, theirs);

        // Shrink below the backing file's end (mid-cluster), then grow past it: the new part must read
        // as zeroes, not as the backing file's bytes, as QEMU does when it grows an overlay.
        Diskimg.Ok("resize", "--shrink", ours, "700K");
        Diskimg.Ok("resize", ours, "3M");
        ExternalTool.QemuImg("resize", "--shrink", theirs, "700K");
        var qemuGrow = ExternalTool.Run("qemu-img", "resize", theirs, "3M");

        var model = new byte[3 * MiB];
        backingBytes.AsSpan(0, 700 * 1024).CopyTo(model);
        AssertClean(ours);
        AssertContent(ours, model);
        if (options.Contains("compat=0.10", StringComparison.Ordinal))
        {
            // Version 2 has no zero clusters and QEMU gives up; we write zeroed clusters instead.
            Assert.Contains("Failed to zero out new clusters", qemuGrow.StdErr, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(0, qemuGrow.ExitCode);
            AssertContent(theirs, model);
        }
    }

    [Fact]
    public void Growing_after_a_mid_cluster_shrink_does_not_bring_back_the_cut_bytes()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        Qcow2Oracle.Create(image, "1M");
        var model = new byte[MiB];
        Write(image, model, 0, MiB, 9);
        Diskimg.Ok("resize", "--shrink", image, "100K");
        Diskimg.Ok("resize", image, "1M");
        Array.Clear(model, 100 * 1024, MiB - (100 * 1024));
        AssertClean(image);
        AssertContent(image, model);
    }

    [Fact]
    public void Refusals_use_qemu_img_wording()
    {
        using var dir = new TempDirectory();
        var image = dir.File("v2.qcow2");
        Qcow2Oracle.Create(image, "1M", "compat=0.10");
        ExternalTool.QemuImg("snapshot", "-c", "s", image);
        Assert.Equal("diskimg: Can't resize a v2 image which has snapshots", Diskimg.Run("resize", image, "2M").StdErr.Trim());
        var v3 = dir.File("v3.qcow2");
        Qcow2Oracle.Create(v3, "1M");
        Assert.Equal("diskimg: Preallocation can only be used for growing images",
            Diskimg.Run("resize", "--shrink", "--preallocation=full", v3, "512K").StdErr.Trim());
        Assert.Equal("diskimg: New image size must be positive", Diskimg.Run("resize", "--shrink", v3, "--", "-2M").StdErr.Trim());
    }
}
