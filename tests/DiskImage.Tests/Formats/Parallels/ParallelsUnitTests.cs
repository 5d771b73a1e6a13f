using System.Buffers.Binary;
using DiskImage.Formats;
using DiskImage.Formats.Parallels;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Parallels;

/// <summary>The Parallels header, BAT and Format Extension parsers on hand-made bytes; qemu-img itself judges the rest (interop tests).</summary>
public class ParallelsUnitTests
{
    [Fact]
    public void The_probe_wants_a_whole_header_with_either_magic_and_version_2()
    {
        var header = new byte[ParallelsHeader.Size];
        "WithoutFreeSpace"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 2);
        Assert.Equal(100, ParallelsFormat.Instance.Probe(header, header.Length));
        "WithouFreSpacExt"u8.CopyTo(header);
        Assert.Equal(100, ParallelsFormat.Instance.Probe(header, header.Length));
        Assert.Equal(0, ParallelsFormat.Instance.Probe(header.AsSpan(0, 63), 63));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 3);
        Assert.Equal(0, ParallelsFormat.Instance.Probe(header, header.Length));
    }

    [Fact]
    public void The_old_magic_keeps_only_the_low_half_of_the_sector_count()
    {
        var header = new byte[ParallelsHeader.Size];
        "WithoutFreeSpace"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(28), 32);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(36), (1UL << 32) | 128);
        var parsed = ParallelsHeader.Parse(header);
        Assert.Equal(128UL, parsed.EffectiveSectors);
        Assert.Equal(1u, parsed.OffsetMultiplier);
        "WithouFreSpacExt"u8.CopyTo(header);
        parsed = ParallelsHeader.Parse(header);
        Assert.Equal((1UL << 32) | 128, parsed.EffectiveSectors);
        Assert.Equal(32u, parsed.OffsetMultiplier);
    }

    [Fact]
    public void A_bat_larger_than_its_file_reads_as_zeroes_without_allocating_it()
    {
        using var dir = new TempDirectory();
        var path = dir.File("huge-bat.prl");
        var bytes = new byte[4096];
        "WithouFreSpacExt"u8.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), 2);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(28), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(32), ParallelsHeader.MaxBatEntries);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(36), 1UL << 29);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(48), 8);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(64), 7);
        File.WriteAllBytes(path, bytes);
        var before = GC.GetAllocatedBytesForCurrentThread();
        using var image = ImageFormatRegistry.Default.Open(path, "parallels");
        var extents = image.GetExtents(0, image.Length);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64L << 20);
        Assert.Equal(2, extents.Count);
        Assert.Equal(512, extents[0].Length);
        Assert.Equal(image.Length - 512, extents[1].Length);
    }

    [Theory]
    [InlineData(0, "Wrong parallels Format Extension magic: 0x0, expected: 0xab234cef23dcea87")]
    [InlineData(1, "Wrong checksum in Format Extension header. Format extension is corrupted.")]
    [InlineData(2, "Unknown feature: 0x1234")]
    [InlineData(3, "Flags for extension feature are unsupported")]
    [InlineData(4, "Feature data_size exceedes Format Extension cluster")]
    public void Format_extension_faults_are_named_in_qemus_words(int fault, string message)
    {
        var cluster = new byte[1024];
        if (fault != 0)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(cluster, 0xAB234CEF23DCEA87);
        }

        var feature = cluster.AsSpan(24);
        switch (fault)
        {
            case 2:
                BinaryPrimitives.WriteUInt64LittleEndian(feature, 0x1234);
                break;
            case 3:
                BinaryPrimitives.WriteUInt64LittleEndian(feature[8..], 1);
                break;
            case 4:
                BinaryPrimitives.WriteUInt32LittleEndian(feature[16..], 2000);
                break;
        }

        if (fault != 1)
        {
            System.Security.Cryptography.MD5.HashData(cluster.AsSpan(24)).CopyTo(cluster.AsSpan(8));
        }

        var e = Assert.Throws<InvalidImageException>(() => ParallelsExtension.Validate(cluster, 0));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void An_extension_with_only_the_end_marker_is_valid()
    {
        var cluster = new byte[1024];
        BinaryPrimitives.WriteUInt64LittleEndian(cluster, 0xAB234CEF23DCEA87);
        System.Security.Cryptography.MD5.HashData(cluster.AsSpan(24)).CopyTo(cluster.AsSpan(8));
        ParallelsExtension.Validate(cluster, 20480);
    }
}
