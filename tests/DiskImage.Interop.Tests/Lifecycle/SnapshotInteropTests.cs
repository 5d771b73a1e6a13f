using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Qcow2;
using static DiskImage.Interop.Tests.Lifecycle.LifecycleOracle;

namespace DiskImage.Interop.Tests.Lifecycle;

public class SnapshotInteropTests
{
    [Theory]
    [InlineData("")]
    [InlineData("compat=0.10")]
    [InlineData("cluster_size=4k,refcount_bits=4")]
    [InlineData("extended_l2=on,cluster_size=32k")]
    [InlineData("lazy_refcounts=on")]
    public void Snapshots_we_create_are_listed_read_back_and_clean_by_qemu(string options)
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        Qcow2Oracle.Create(image, "3M", options);
        var model = new byte[3 * MiB];
        Write(image, model, 0, 100_000, 1);
        Write(image, model, 2 * MiB - 512, 4096, 2);
        Diskimg.Ok("snapshot", "-c", "first", image);
        var first = (byte[])model.Clone();
        AssertClean(image);

        Write(image, model, 4096, 8192, 3);
        Write(image, model, 3 * MiB - 65536, 65536, 4);
        Diskimg.Ok("snapshot", "-c", "second", image);
        var second = (byte[])model.Clone();
        Write(image, model, 0, 300_000, 5);
        AssertClean(image);

        var list = ExternalTool.QemuImg("snapshot", "-l", image);
        Assert.Contains("first", list, StringComparison.Ordinal);
        Assert.Contains("second", list, StringComparison.Ordinal);
        AssertContent(image, first, snapshot: "snapshot.name=first");
        AssertContent(image, second, snapshot: "snapshot.name=second");
        AssertContent(image, second, snapshot: "snapshot.id=2");
        AssertContent(image, model);
    }

    [Fact]
    public void Listing_matches_qemu_img_byte_for_byte()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        Qcow2Oracle.Create(image, "1M");
        ExternalTool.QemuImg("snapshot", "-c", "made-by-qemu", image);
        Diskimg.Ok("snapshot", "-c", "made by us with a long name", image);
        Diskimg.Ok("snapshot", "-c", "made-by-qemu", image);
        Assert.Equal(ExternalTool.QemuImg("snapshot", "-l", image), Diskimg.Ok("snapshot", "-l", image));
        // Without an action qemu-img opens the image and prints nothing.
        Assert.Equal(ExternalTool.QemuImg("snapshot", image), Diskimg.Ok("snapshot", image));
    }

    [Fact]
    public void Apply_and_delete_sequences_match_qemu_and_leave_no_leaks()
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.qcow2");
        Qcow2Oracle.Create(ours, "2M", "cluster_size=4k");
        var model = new byte[2 * MiB];
        for (var round = 0; round < 4; round++)
        {
            Write(ours, model, round * 70_000, 50_000, (byte)(round + 1));
            ExternalTool.QemuImg("snapshot", "-c", $"q{round}", ours);
            Diskimg.Ok("snapshot", "-c", $"d{round}", ours);
        }

        var theirs = dir.File("theirs.qcow2");
        File.Copy(ours, theirs);
        foreach (var (verb, name) in new[] { ("-a", "q1"), ("-d", "q0"), ("-a", "d3"), ("-d", "d2"), ("-d", "d1"), ("-a", "q2"), ("-d", "q3") })
        {
            Diskimg.Ok("snapshot", verb, name, ours);
            ExternalTool.QemuImg("snapshot", verb, name, theirs);
            AssertClean(ours);
            Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", ours, theirs).ExitCode);
            Assert.Equal(ExternalTool.QemuImg("snapshot", "-l", theirs), ExternalTool.QemuImg("snapshot", "-l", ours));
        }

        foreach (var name in new[] { "d0", "q1", "q2", "d3" })
        {
            Diskimg.Ok("snapshot", "-d", name, ours);
            AssertClean(ours);
        }

        Assert.Equal("", ExternalTool.QemuImg("snapshot", "-l", ours));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", ours, theirs).ExitCode);
    }

    [Fact]
    public void Apply_restores_the_disk_size_recorded_with_the_snapshot()
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.qcow2");
        Qcow2Oracle.Create(ours, "1M");
        var model = new byte[MiB];
        Write(ours, model, 1000, 5000, 7);
        Diskimg.Ok("snapshot", "-c", "small", ours);
        ExternalTool.QemuImg("resize", ours, "300M");
        Qcow2Oracle.Io(ours, "write -P 9 200M 64k");
        var theirs = dir.File("theirs.qcow2");
        File.Copy(ours, theirs);
        Diskimg.Ok("snapshot", "-a", "small", ours);
        ExternalTool.QemuImg("snapshot", "-a", "small", theirs);
        Assert.Equal(MiB, VirtualSize(ours));
        AssertContent(ours, model);
        AssertClean(ours);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", ours, theirs).ExitCode);
    }

    [Fact]
    public void Compressed_clusters_are_shared_and_released_correctly()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("src.raw");
        var model = new byte[MiB];
        new Random(5).NextBytes(model.AsSpan(0, 200_000));
        model.AsSpan(300_000, 200_000).Fill(0x41);
        File.WriteAllBytes(raw, model);
        var image = dir.File("c.qcow2");
        ExternalTool.QemuImg("convert", "-c", "-f", "raw", "-O", "qcow2", raw, image);
        Diskimg.Ok("snapshot", "-c", "s", image);
        AssertClean(image);
        var original = (byte[])model.Clone();
        Write(image, model, 300_000, 1000, 3);
        Diskimg.Ok("snapshot", "-a", "s", image);
        AssertContent(image, original);
        Diskimg.Ok("snapshot", "-d", "s", image);
        AssertClean(image);
        AssertContent(image, original);
    }

    [Fact]
    public void Errors_use_qemu_img_wording()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        Qcow2Oracle.Create(image, "1M");
        Assert.Equal("diskimg: Could not delete snapshot 'nope': snapshot not found", Diskimg.Run("snapshot", "-d", "nope", image).StdErr.Trim());
        Assert.Equal("diskimg: Could not apply snapshot 'nope': Failed to load snapshot: No such file or directory",
            Diskimg.Run("snapshot", "-a", "nope", image).StdErr.Trim());
        Assert.Equal(1, Diskimg.Run("snapshot", "-c", "x", "-d", "y", image).ExitCode);
        var rawImage = dir.File("a.raw");
        File.WriteAllBytes(rawImage, new byte[4096]);
        // snapshot takes no -f (as qemu-img's): the raw file is probed, so the probed-raw warning comes first.
        var result = Diskimg.Run("snapshot", "-c", "s", rawImage);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"WARNING: Image format was not specified for '{rawImage}' and probing guessed raw.", result.StdErr, StringComparison.Ordinal);
        Assert.EndsWith("diskimg: Could not create snapshot 's': -95 (Operation not supported)", result.StdErr.Trim(), StringComparison.Ordinal);
        Assert.Equal(1, Diskimg.Run("snapshot", "-f", "raw", "-l", rawImage).ExitCode);
    }

    [Fact]
    public void Snapshot_views_read_the_snapshot_content_at_the_current_size()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        Qcow2Oracle.Create(image, "1M");
        Qcow2Oracle.Io(image, "write -P 1 0 64k");
        ExternalTool.QemuImg("snapshot", "-c", "s", image);
        ExternalTool.QemuImg("resize", image, "2M");
        Qcow2Oracle.Io(image, "write -P 2 0 64k");
        using var view = DiskImage.Operations.Snapshots.ImageSnapshots.OpenSnapshot(image, null,
            DiskImage.Formats.Qcow2.Qcow2SnapshotSelector.Parse("snapshot.name=s"));
        // qemu-img convert -l reads a snapshot at the image's current size.
        Assert.Equal(2 * MiB, view.Length);
        var buffer = new byte[65536];
        view.Read(0, buffer);
        Assert.All(buffer, b => Assert.Equal(1, b));
        view.Read(MiB + 65536, buffer);
        Assert.All(buffer, b => Assert.Equal(0, b));
        Assert.Throws<InvalidOptionException>(() => DiskImage.Operations.Snapshots.ImageSnapshots.OpenSnapshot(image, null,
            DiskImage.Formats.Qcow2.Qcow2SnapshotSelector.Parse("snapshot.id=9")).Dispose());
    }
}
