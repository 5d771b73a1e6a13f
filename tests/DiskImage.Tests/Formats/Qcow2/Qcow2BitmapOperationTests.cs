using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Formats.Qcow2.Bitmaps;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Qcow2;

/// <summary>The bitmap operations of <see cref="Qcow2Image"/> and the in-memory bitmap they rest on.</summary>
public class Qcow2BitmapOperationTests
{
    private const long Size = 16L << 20;

    [Fact]
    public void Dirty_ranges_are_whole_granule_runs_clipped_to_the_disk()
    {
        var bitmap = new Qcow2DirtyBitmap("b", 12, enabled: true, imageLength: (1L << 20) + 100);
        bitmap.MarkDirty(5000, 1); // granule 1
        bitmap.MarkDirty(8192, 8192); // granules 2-3, joining granule 1
        bitmap.MarkDirty(63 * 4096, 2 * 4096); // granules 63-64 across a word boundary
        bitmap.MarkDirty(1L << 20, 100); // the last, partial granule
        Assert.Equal([(4096L, 12288L), (63 * 4096L, 2 * 4096L), (1L << 20, 100L)], bitmap.DirtyRanges().ToList());
    }

    [Fact]
    public void Merging_a_coarser_bitmap_sets_every_finer_granule_it_covers_and_a_finer_one_the_coarse_granule()
    {
        var fine = new Qcow2DirtyBitmap("fine", 9, enabled: true, imageLength: Size);
        var coarse = new Qcow2DirtyBitmap("coarse", 16, enabled: true, imageLength: Size);
        coarse.MarkDirty(70000, 1); // granule 1: bytes 65536-131071
        fine.Merge(coarse);
        Assert.Equal([(65536L, 65536L)], fine.DirtyRanges().ToList());

        var other = new Qcow2DirtyBitmap("coarse2", 16, enabled: true, imageLength: Size);
        var speck = new Qcow2DirtyBitmap("speck", 9, enabled: true, imageLength: Size);
        speck.MarkDirty(300000, 1);
        other.Merge(speck);
        Assert.Equal([(262144L, 65536L)], other.DirtyRanges().ToList());
        other.Clear();
        Assert.Empty(other.DirtyRanges());
    }

    [Fact]
    public void Bitmaps_added_enabled_disabled_and_removed_survive_a_reopen_and_track_only_while_enabled()
    {
        using var dir = new TempDirectory();
        var path = dir.File("vm.qcow2");
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = Size });
        using (var image = (Qcow2Image)ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false }))
        {
            image.AddBitmap("a", 4096);
            image.AddBitmap("b");
            image.AddBitmap("gone", 512);
            image.DisableBitmap("b");
            image.Write(8192, new byte[4096]);
            image.RemoveBitmap("gone");
            Assert.Equal(
                ["Bitmap already exists: a", "Dirty bitmap 'x' not found", "Granularity must be power of 2 and at least 512"],
                new Action[] { () => image.AddBitmap("a"), () => image.ClearBitmap("x"), () => image.AddBitmap("c", 1000) }
                    .Select(a => Assert.ThrowsAny<DiskImageException>(a).Message));
        }

        using (var image = (Qcow2Image)ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false }))
        {
            // Bitmaps new in one session are stored newest first, as QEMU stores them.
            Assert.Equal([("b", 65536L, ""), ("a", 4096L, "auto")], image.ListBitmaps().Select(b => (b.Name, b.Granularity, string.Join(',', b.Flags))));
            image.AddBitmap("copy", 4096);
            image.MergeBitmap("copy", image, "a");
            image.EnableBitmap("b");
            image.Write(1L << 20, new byte[512]);
        }

        using (var image = (Qcow2Image)ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions()))
        {
            var a = ReadBack(image, "a");
            Assert.Equal([(8192L, 4096L), (1L << 20, 4096L)], a);
            Assert.Equal([(1L << 20, 65536L)], ReadBack(image, "b"));
            Assert.Equal([(8192L, 4096L), (1L << 20, 4096L)], ReadBack(image, "copy")); // merged, then enabled for the later write
        }
    }

    [Fact]
    public void A_version_2_image_cannot_store_a_bitmap()
    {
        using var dir = new TempDirectory();
        var path = dir.File("v2.qcow2");
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = Size, Version = 2 });
        using var image = (Qcow2Image)ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false });
        var error = Assert.ThrowsAny<DiskImageException>(() => image.AddBitmap("b"));
        Assert.Matches("^Can't make bitmap 'b' persistent in '#block1[0-9]{2}': Cannot store dirty bitmaps in qcow2 v2 files$", error.Message);
    }

    /// <summary>A stored bitmap's dirty ranges, read through a merge into a fresh in-memory bitmap of the same granularity.</summary>
    private static List<(long, long)> ReadBack(Qcow2Image image, string name)
    {
        var info = image.ListBitmaps().Single(b => b.Name == name);
        var entry = image.PersistentBitmaps.Single(b => b.Name == name);
        var copy = new Qcow2DirtyBitmap(name, entry.GranularityBits, enabled: false, image.Length);
        Assert.Equal(info.Granularity, copy.Granularity);
        copy.Merge(image.ReadBitmapData(entry));
        return copy.DirtyRanges().ToList();
    }
}
