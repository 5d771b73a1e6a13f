using System.Buffers.Binary;
using DiskImage.Formats.Qcow2.Bitmaps;

namespace DiskImage.Tests.Formats.Qcow2;

/// <summary>The bitmap directory parser: what it accepts round-trips, and each broken rule has its own message.</summary>
public class Qcow2BitmapDirectoryTests
{
    private const int ClusterSize = 65536;
    private const long ImageLength = 100L << 20;

    private static readonly Qcow2Bitmap[] s_bitmaps =
    [
        new("b1", 16, Qcow2BitmapLimits.FlagAuto, 0x1b0000, 1),
        new("in use", 9, Qcow2BitmapLimits.FlagInUse | Qcow2BitmapLimits.FlagAuto, 0x1c0000, 1),
        new(new string('n', 1023), 20, 0, 0x1d0000, 1),
    ];

    [Fact]
    public void A_serialized_directory_parses_back_to_the_same_entries()
    {
        var directory = Qcow2BitmapDirectory.Serialize(s_bitmaps);
        Assert.Equal(32 + 32 + ((24 + 1023 + 7) & ~7), directory.Length);
        Assert.Equal(s_bitmaps, Qcow2BitmapDirectory.Parse(directory, 3, ClusterSize, ImageLength));
        Assert.Equal(["in-use", "auto"], s_bitmaps[1].FlagNames);
        Assert.Empty(s_bitmaps[2].FlagNames);
    }

    [Theory]
    [InlineData(0, 8, 0x1b0001UL, "Bitmap 'b1' doesn't satisfy the constraints")] // table offset unaligned
    [InlineData(17, 1, 32UL, "Bitmap 'b1' doesn't satisfy the constraints")] // granularity 2^32
    [InlineData(17, 1, 8UL, "Bitmap 'b1' doesn't satisfy the constraints")] // granularity 256
    [InlineData(16, 1, 2UL, "Bitmap 'b1' doesn't satisfy the constraints")] // unknown type
    [InlineData(12, 4, 4UL, "Bitmap 'b1' doesn't satisfy the constraints")] // reserved flag
    [InlineData(8, 4, 0UL, "Bitmap 'b1' doesn't satisfy the constraints")] // empty table
    [InlineData(8, 4, 0x8000001UL, "Bitmap 'b1' doesn't satisfy the constraints")] // table too big
    [InlineData(20, 4, 8UL, "Bitmap extra data is not supported")]
    [InlineData(18, 2, 0xffffUL, "Broken bitmap directory")] // name runs past the directory
    public void Each_broken_rule_gets_qemu_s_message(int offset, int width, ulong value, string message)
    {
        var directory = Qcow2BitmapDirectory.Serialize(s_bitmaps);
        switch (width)
        {
            case 1: directory[offset] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16BigEndian(directory.AsSpan(offset), (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32BigEndian(directory.AsSpan(offset), (uint)value); break;
            default: BinaryPrimitives.WriteUInt64BigEndian(directory.AsSpan(offset), value); break;
        }

        var e = Assert.Throws<InvalidImageException>(() => Qcow2BitmapDirectory.Parse(directory, 3, ClusterSize, ImageLength));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void The_count_in_the_extension_must_match_the_directory()
    {
        var directory = Qcow2BitmapDirectory.Serialize(s_bitmaps);
        Assert.Equal("More bitmaps found than specified in header extension",
            Assert.Throws<InvalidImageException>(() => Qcow2BitmapDirectory.Parse(directory, 2, ClusterSize, ImageLength)).Message);
        Assert.Equal("Less bitmaps found than specified in header extension",
            Assert.Throws<InvalidImageException>(() => Qcow2BitmapDirectory.Parse(directory, 4, ClusterSize, ImageLength)).Message);
        Assert.Equal("Broken bitmap directory",
            Assert.Throws<InvalidImageException>(() => Qcow2BitmapDirectory.Parse(directory.AsSpan(0, 40), 3, ClusterSize, ImageLength)).Message);
    }

    [Fact]
    public void A_consistent_bitmap_needs_table_room_for_the_whole_disk_but_one_in_use_may_be_stale()
    {
        // One cluster of 512-byte granules covers 65536 * 8 * 512 = 256 MiB.
        Qcow2Bitmap[] small = [new("a", 9, 0, 0x10000, 1)];
        Assert.Single(Qcow2BitmapDirectory.Parse(Qcow2BitmapDirectory.Serialize(small), 1, ClusterSize, 256L << 20));
        Assert.Throws<InvalidImageException>(() => Qcow2BitmapDirectory.Parse(Qcow2BitmapDirectory.Serialize(small), 1, ClusterSize, (256L << 20) + 1));
        Qcow2Bitmap[] inUse = [small[0] with { Flags = Qcow2BitmapLimits.FlagInUse }];
        Assert.Single(Qcow2BitmapDirectory.Parse(Qcow2BitmapDirectory.Serialize(inUse), 1, ClusterSize, (256L << 20) + 1));
    }

    [Theory]
    [InlineData(0x1a0000UL, true)]
    [InlineData(1UL, true)] // all ones, no data cluster
    [InlineData(0x1a0001UL, false)] // all-ones flag with an offset
    [InlineData(0x1a0002UL, false)] // reserved bit 1
    [InlineData(0x0100000000000000UL, false)] // reserved high bits
    [InlineData(0x1a0200UL, false)] // not cluster aligned
    public void Table_entries_follow_the_specification(ulong entry, bool valid) =>
        Assert.Equal(valid, Qcow2BitmapTable.IsValidEntry(entry, ClusterSize));

    [Theory]
    [InlineData(100L << 20, 16, 1)]
    [InlineData(1L << 40, 9, 4096)] // 2^31 granules = 256 MiB of bits = 4096 clusters of 64 KiB
    [InlineData(1, 31, 1)]
    public void Table_sizes_are_whole_clusters_of_64_bit_words(long length, int granularityBits, long entries) =>
        Assert.Equal(entries, Qcow2BitmapLimits.TableEntries(length, granularityBits, ClusterSize));
}
