using DiskImage.Interop.Tests.Bitmaps;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// <c>diskimg nbd -l SNAPSHOT -B NAME</c> against <c>qemu-nbd</c> 7.2 with the same options: bitmaps are not part of
/// internal snapshots, so the export carries the image's current bitmaps (at the image's current size) next to the
/// snapshot's data; and the refusals around it (a missing or inconsistent bitmap, <c>-s</c> with <c>-l</c>, a format
/// without internal snapshots) come in qemu-nbd's words and exit code.
/// </summary>
public class NbdSnapshotBitmapExportTests
{
    /// <summary>
    /// A 16 MiB qcow2: b1 enabled, b2 disabled after some writes, snapshot s1, more writes, b3 added after the snapshot, then grown to 32 MiB
    /// and written past the old end, so the snapshot is shorter than the bitmaps.
    /// </summary>
    private static string ImageWithSnapshotAndBitmaps(TempDirectory dir)
    {
        var image = dir.File("vm.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "16M");
        ExternalTool.QemuIo("-c", "write -P 1 0 1M", image);
        ExternalTool.QemuImg("bitmap", "--add", "-g", "4096", image, "b1");
        ExternalTool.QemuImg("bitmap", "--add", image, "b2");
        ExternalTool.QemuIo("-c", "write -P 2 4M 64k", "-c", "write 100k 3000", image);
        ExternalTool.QemuImg("bitmap", "--disable", image, "b2");
        ExternalTool.QemuImg("snapshot", "-c", "s1", image);
        ExternalTool.QemuIo("-c", "write -P 3 8M 64k", image);
        ExternalTool.QemuImg("bitmap", "--add", "-g", "1M", image, "b3");
        ExternalTool.QemuImg("resize", image, "32M");
        ExternalTool.QemuIo("-c", "write -P 4 20M 70k", image);
        return image;
    }

    [Theory]
    [InlineData("s1")]
    [InlineData("snapshot.id=1")]
    public void Load_snapshot_with_bitmaps_exports_the_current_bitmaps_as_qemu_nbd_does(string selector)
    {
        using var dir = new TempDirectory();
        var image = ImageWithSnapshotAndBitmaps(dir);
        var before = File.ReadAllBytes(image);
        foreach (var (name, granularity) in new[] { ("b1", 4096L), ("b2", 65536L), ("b3", 1L << 20) })
        {
            var theirs = dir.File($"q-{name}.sock");
            var ours = dir.File($"d-{name}.sock");
            SortedSet<long> theirRanges, ourRanges;
            string theirInfo, ourInfo;
            using (var server = NbdProcess.Tool("qemu-nbd", theirs, 0, "-t", "-l", selector, "-B", name, "-B", "b2", "-k", theirs, image))
            {
                theirRanges = DirtyRanges.Map(theirs, name, granularity);
                theirInfo = ExternalTool.Run("nbdinfo", "--list", server.Uri()).EnsureSuccess("nbdinfo").StdOut;
            }

            using (var server = NbdProcess.Diskimg(ours, 0, "-t", "-l", selector, "-B", name, "-B", "b2", "-k", ours, image))
            {
                ourRanges = DirtyRanges.Map(ours, name, granularity);
                ourInfo = ExternalTool.Run("nbdinfo", "--list", server.Uri()).EnsureSuccess("nbdinfo").StdOut;
            }

            Assert.NotEmpty(theirRanges);
            Assert.True(theirRanges.SetEquals(ourRanges), $"{name}: ours [{DirtyRanges.Describe(ourRanges)}] theirs [{DirtyRanges.Describe(theirRanges)}]");

            // Size, read-only flag and the meta contexts offered, as nbdinfo lists them (the socket path differs).
            Assert.Equal(theirInfo.Replace(theirs, "", StringComparison.Ordinal), ourInfo.Replace(ours, "", StringComparison.Ordinal));
        }

        Assert.Equal(before, File.ReadAllBytes(image));
    }

    [Theory]
    [InlineData("missing bitmap", new[] { "-l", "s1", "-B", "nope" })]
    [InlineData("missing snapshot before the bitmap", new[] { "-l", "s2", "-B", "nope" })]
    [InlineData("snapshot mode", new[] { "-l", "s1", "-s", "-B", "b1" })]
    [InlineData("snapshot mode, missing bitmap", new[] { "-s", "-l", "snapshot.name=s1", "-B", "nope" })]
    [InlineData("inconsistent bitmap", new[] { "-l", "s1", "-B", "b1", "in-use" })]
    [InlineData("inconsistent bitmap, no snapshot", new[] { "-r", "-B", "b1", "in-use" })]
    [InlineData("raw image", new[] { "-f", "raw", "-l", "s1", "-B", "b1" })]
    public void Refusals_match_qemu_nbd(string name, string[] options)
    {
        using var dir = new TempDirectory();
        var image = ImageWithSnapshotAndBitmaps(dir);
        if (options[^1] == "in-use")
        {
            options = options[..^1];

            // qemu-io killed while it has the image open leaves its enabled bitmaps in use (inconsistent).
            ExternalTool.Run("qemu-io", "-c", "write 0 64k", "-c", "sigraise 9", image);
            Assert.Contains("in-use", ExternalTool.QemuImg("info", image), StringComparison.Ordinal);
        }

        var theirs = ExternalTool.Run("qemu-nbd", [.. options, "-k", dir.File("q.sock"), image]);
        var ours = Diskimg.Run(["nbd", .. options, "-k", dir.File("d.sock"), image]);
        Assert.True(theirs.ExitCode != 0, $"{name}: qemu-nbd served");
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-nbd:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
    }
}
