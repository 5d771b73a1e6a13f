using System.Globalization;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Nbd;

namespace DiskImage.Interop.Tests.Bitmaps;

/// <summary>
/// Dirty ranges at every granularity from 512 B to 64 MiB, read both ways with <c>qemu-img map --image-opts
/// ...,x-dirty-bitmap=qemu:dirty-bitmap:NAME</c> through an NBD server: bitmaps made by qemu-img (enabled, disabled,
/// merged) and dirtied by qemu-io, served by <c>diskimg nbd -B</c> and by <c>qemu-nbd -B</c>, must give the same
/// ranges; and bitmaps made, merged and dirtied by diskimg must read in qemu-nbd as the writes predict.
/// </summary>
public class BitmapGranularityInteropTests
{
    private const long Size = 256L << 20;

    /// <summary>Writes (qemu-io syntax) spread over the disk: unaligned, across granules, at the very end.</summary>
    private static readonly (long Offset, long Length)[] s_writes =
    [
        (1000, 3000), (3L << 20, 100 << 10), (65535, 2), (150L << 20, 5L << 20), (Size - 512, 512), (200L << 20, 56L << 20),
    ];

    [Theory]
    [InlineData(512L)]
    [InlineData(4096L)]
    [InlineData(65536L)]
    [InlineData(1L << 20)]
    [InlineData(8L << 20)]
    [InlineData(64L << 20)]
    public void Qemu_made_bitmaps_read_the_same_through_diskimg_nbd_and_qemu_nbd(long granularity)
    {
        using var dir = new TempDirectory();
        var image = dir.File("vm.qcow2");
        var g = granularity.ToString(CultureInfo.InvariantCulture);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, Size.ToString(CultureInfo.InvariantCulture));
        ExternalTool.QemuImg("bitmap", "--add", "-g", g, image, "on");
        ExternalTool.QemuImg("bitmap", "--add", "-g", g, image, "early");
        ExternalTool.QemuImg("bitmap", "--add", "-g", "65536", image, "other");
        ExternalTool.QemuIo("-c", "write -P 7 10M 1M", image);
        ExternalTool.QemuImg("bitmap", "--disable", image, "early");
        ExternalTool.QemuIo([.. s_writes.SelectMany(w => new[] { "-c", $"write -P 9 {w.Offset} {w.Length}" }), image]);
        ExternalTool.QemuImg("bitmap", "--add", "-g", g, image, "merged");
        ExternalTool.QemuImg("bitmap", "--merge", "other", "--disable", image, "merged");

        foreach (var name in new[] { "on", "early", "merged", "other" })
        {
            var unit = name == "other" ? 65536 : granularity;
            var theirs = DirtyRanges.Read(image, name, unit);
            var socket = dir.File($"d-{name}.sock");
            using (NbdProcess.Diskimg(socket, 0, "-r", "-t", "-f", "qcow2", "-B", name, "-k", socket, image))
            {
                var ours = DirtyRanges.Map(socket, name, unit);
                Assert.True(theirs.SetEquals(ours), $"{name} at {g}: ours [{DirtyRanges.Describe(ours)}] theirs [{DirtyRanges.Describe(theirs)}]");
            }

            Assert.NotEmpty(theirs);
        }

        // The bitmap a qemu-io write dirtied at this granularity is what the writes predict.
        Assert.Equal(Granules([(10L << 20, 1L << 20), .. s_writes], granularity), DirtyRanges.Read(image, "on", granularity));
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", image), Diskimg.Ok("info", "--output=json", image));
    }

    [Theory]
    [InlineData(512L)]
    [InlineData(65536L)]
    [InlineData(2L << 20)]
    [InlineData(64L << 20)]
    public void Diskimg_made_bitmaps_read_in_qemu_nbd_as_the_writes_predict(long granularity)
    {
        using var dir = new TempDirectory();
        var image = dir.File("vm.qcow2");
        var g = granularity.ToString(CultureInfo.InvariantCulture);
        Diskimg.Ok("create", "-q", "-f", "qcow2", image, Size.ToString(CultureInfo.InvariantCulture));
        Diskimg.Ok("bitmap", "--add", "-g", g, image, "on");
        Diskimg.Ok("bitmap", "--add", "-g", "4096", "--disable", image, "fine");
        Diskimg.Ok(["io", .. s_writes.SelectMany(w => new[] { "-c", $"write -P 9 {w.Offset} {w.Length}" }), image]);
        Diskimg.Ok("bitmap", "--enable", "--merge", "on", image, "fine");
        Diskimg.Ok("io", "-c", "write -z 100M 4k", image);

        ExternalTool.QemuImg("check", image);
        Assert.Equal(ExternalTool.QemuImg("info", image), Diskimg.Ok("info", image));
        var expectedOn = Granules([.. s_writes, (100L << 20, 4096)], granularity);
        Assert.Equal(expectedOn, DirtyRanges.Read(image, "on", granularity));

        // "fine" holds "on"'s coarse granules (merged) and the later zero write at its own 4 KiB.
        var fine = Granules([.. Granules(s_writes, granularity).Select(x => (x * granularity, granularity)), (100L << 20, 4096)], 4096);
        Assert.Equal(fine, DirtyRanges.Read(image, "fine", 4096));

        // Our server agrees with qemu-nbd on the same image.
        var socket = dir.File("d.sock");
        using (NbdProcess.Diskimg(socket, 0, "-r", "-t", "-B", "on", "-k", socket, image))
        {
            Assert.Equal(expectedOn, DirtyRanges.Map(socket, "on", granularity));
        }
    }

    private static SortedSet<long> Granules(IEnumerable<(long Offset, long Length)> writes, long granularity)
    {
        var set = new SortedSet<long>();
        foreach (var (offset, length) in writes)
        {
            for (var granule = offset / granularity; granule * granularity < Math.Min(Size, offset + length); granule++)
            {
                set.Add(granule);
            }
        }

        return set;
    }
}
