using System.Buffers.Binary;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Qcow2;

/// <summary>Corrupt or hostile headers must fail with one clear message and one of the library's exception types.</summary>
public class Qcow2HeaderValidationTests
{
    private const int ClusterSize = 65536;

    [Fact]
    public void A_valid_image_opens()
    {
        using var dir = new TempDirectory();
        var path = Fresh(dir);
        using var image = Qcow2Format.Instance.Open(path, new ImageOpenOptions());
        Assert.Equal(64L << 20, image.Length);
    }

    [Theory]
    [InlineData(0, 0x12345678u, "Image is not in qcow2 format")]
    [InlineData(4, 1u, "Unsupported qcow2 version 1")]
    [InlineData(4, 4u, "Unsupported qcow2 version 4")]
    [InlineData(20, 8u, "Unsupported cluster size: 2^8")]
    [InlineData(20, 22u, "Unsupported cluster size: 2^22")]
    [InlineData(100, 100u, "qcow2 header too short")]
    [InlineData(100, 0x100000u, "qcow2 header exceeds cluster size")]
    [InlineData(96, 7u, "Reference count entry width too large; may not exceed 64 bits")]
    [InlineData(32, 3u, "Unsupported encryption method: 3")]
    [InlineData(36, 0x400001u, "Active L1 table too large")]
    [InlineData(36, 0u, "L1 table is too small")]
    [InlineData(56, 0u, "Image does not contain a reference count table")]
    [InlineData(56, 0x10000u, "Reference count table too large")]
    [InlineData(60, 70000u, "Snapshot table too large")]
    public void Bad_32_bit_fields_are_refused_with_qemus_message(int offset, uint value, string message)
    {
        using var dir = new TempDirectory();
        var path = Fresh(dir);
        Patch(path, offset, bytes => BinaryPrimitives.WriteUInt32BigEndian(bytes, value), 4);
        var error = Assert.ThrowsAny<DiskImageException>(() => Qcow2Format.Instance.Open(path, new ImageOpenOptions()).Dispose());
        Assert.Equal(message, error.Message);
        Assert.True(error is InvalidImageException or UnsupportedFeatureException, error.GetType().Name);
    }

    [Theory]
    [InlineData(8, 0x20000UL, "Invalid backing file offset")]
    [InlineData(40, 0x30001UL, "Active L1 table offset invalid")]
    [InlineData(40, 0x7fffffffffff0000UL, "Active L1 table offset invalid")]
    [InlineData(48, 0x10200UL, "Reference count table offset invalid")]
    public void Bad_64_bit_fields_are_refused_with_qemus_message(int offset, ulong value, string message)
    {
        using var dir = new TempDirectory();
        var path = Fresh(dir);
        Patch(path, offset, bytes => BinaryPrimitives.WriteUInt64BigEndian(bytes, value), 8);
        var error = Assert.Throws<InvalidImageException>(() => Qcow2Format.Instance.Open(path, new ImageOpenOptions()).Dispose());
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Unknown_incompatible_bits_are_named_from_the_feature_table()
    {
        using var dir = new TempDirectory();
        var path = Fresh(dir);
        // Rename the "extended L2 entries" entry (bit 4) of the feature table to describe bit 9.
        var bytes = File.ReadAllBytes(path);
        var table = bytes.AsSpan(112 + 8);
        var entry = table.Slice(4 * 48, 48);
        entry[1] = 9;
        entry[2..].Clear();
        "future feature"u8.CopyTo(entry[2..]);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(72), (1UL << 9) | (1UL << 12));
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<UnsupportedFeatureException>(() => Qcow2Format.Instance.Open(path, new ImageOpenOptions()).Dispose());
        Assert.Equal("Unsupported qcow2 feature(s): future feature, Unknown incompatible feature: 1000", error.Message);
    }

    [Fact]
    public void The_corrupt_bit_refuses_read_write_opens_only()
    {
        using var dir = new TempDirectory();
        var path = Fresh(dir);
        Patch(path, 72, bytes => BinaryPrimitives.WriteUInt64BigEndian(bytes, 2), 8);
        var error = Assert.Throws<ImageCorruptException>(() => Qcow2Format.Instance.Open(path, new ImageOpenOptions { ReadOnly = false }).Dispose());
        Assert.Equal("qcow2: Image is corrupt; cannot be opened read/write", error.Message);
        using (var image = Qcow2Format.Instance.Open(path, new ImageOpenOptions()))
        {
            Assert.True(((Qcow2SpecificInfo)image.GetInfo().FormatSpecific!).Corrupt);
        }

        Qcow2Format.Instance.Open(path, new ImageOpenOptions { ReadOnly = false, ForRepair = true }).Dispose();
    }

    [Fact]
    public void Compression_type_without_its_feature_bit_is_refused()
    {
        using var dir = new TempDirectory();
        var path = Fresh(dir);
        Patch(path, 104, bytes => bytes[0] = 1, 1);
        var error = Assert.Throws<InvalidImageException>(() => Qcow2Format.Instance.Open(path, new ImageOpenOptions()).Dispose());
        Assert.Equal("qcow2: Compression type incompatible feature bit must be set", error.Message);
    }

    [Fact]
    public void An_extension_running_past_the_header_area_is_refused()
    {
        using var dir = new TempDirectory();
        var path = Fresh(dir);
        Patch(path, 116, bytes => BinaryPrimitives.WriteUInt32BigEndian(bytes, 0x7fffffff), 4);
        var error = Assert.Throws<InvalidImageException>(() => Qcow2Format.Instance.Open(path, new ImageOpenOptions()).Dispose());
        Assert.Equal("Header extension too large", error.Message);
    }

    [Fact]
    public void A_backing_name_longer_than_qemu_allows_is_refused()
    {
        using var dir = new TempDirectory();
        var path = Fresh(dir);
        Patch(path, 8, bytes =>
        {
            BinaryPrimitives.WriteUInt64BigEndian(bytes, 1024);
            BinaryPrimitives.WriteUInt32BigEndian(bytes[8..], 2000);
        }, 12);
        var error = Assert.Throws<InvalidImageException>(() => Qcow2Format.Instance.Open(path, new ImageOpenOptions()).Dispose());
        Assert.Equal("Backing file name too long", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(50)]
    public void Truncated_files_fail_cleanly(int length)
    {
        using var dir = new TempDirectory();
        var path = Fresh(dir);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..length]);
        Assert.ThrowsAny<DiskImageException>(() =>
        {
            using var image = Qcow2Format.Instance.Open(path, new ImageOpenOptions());
            var buffer = new byte[4096];
            image.Read(0, buffer);
        });
    }

    [Fact]
    public void A_file_cut_after_the_header_fields_reads_as_zeroes_as_in_qemu()
    {
        using var dir = new TempDirectory();
        var path = Fresh(dir);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..104]);
        using var image = Qcow2Format.Instance.Open(path, new ImageOpenOptions());
        var buffer = new byte[4096];
        buffer[0] = 1;
        image.Read(0, buffer);
        Assert.All(buffer, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Probe_claims_the_magic_with_a_version_whatever_the_length()
    {
        // QEMU probes a zero-padded buffer: the magic with a version of 2 or more is claimed however short the file
        // (qemu-img info calls an 8-byte file of magic and version 0x6a756e6b qcow2), the magic alone (version 0) is raw.
        // Version 1 is QEMU's older qcow format, which its own driver claims.
        var header = new byte[72];
        byte[] start = [0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3];
        start.CopyTo(header, 0);
        Assert.Equal(100, Qcow2Format.Instance.Probe(header, 1 << 20));
        header[7] = 4;
        Assert.Equal(100, Qcow2Format.Instance.Probe(header, 1 << 20));
        header[7] = 1;
        Assert.Equal(0, Qcow2Format.Instance.Probe(header, 1 << 20));
        header[7] = 3;
        header[0] = 0x52;
        Assert.Equal(0, Qcow2Format.Instance.Probe(header, 1 << 20));
        header[0] = 0x51;
        Assert.Equal(100, Qcow2Format.Instance.Probe(header.AsSpan(0, 71), 71));
        Assert.Equal(100, Qcow2Format.Instance.Probe(header.AsSpan(0, 8), 8));
        Assert.Equal(0, Qcow2Format.Instance.Probe(header.AsSpan(0, 7), 7));
        Assert.Equal(0, Qcow2Format.Instance.Probe(header.AsSpan(0, 4), 4));
        header[7] = 0;
        Assert.Equal(0, Qcow2Format.Instance.Probe(header, 1 << 20));
    }

    [Fact]
    public void Random_header_bytes_only_ever_raise_library_exceptions()
    {
        using var dir = new TempDirectory();
        var original = File.ReadAllBytes(Fresh(dir));
        var path = dir.File("mutant.qcow2");
        var random = new Random(42);
        for (var i = 0; i < 300; i++)
        {
            var bytes = (byte[])original.Clone();
            for (var flips = random.Next(1, 6); flips > 0; flips--)
            {
                bytes[8 + random.Next(600)] = (byte)random.Next(256);
            }

            File.WriteAllBytes(path, bytes);
            try
            {
                using var image = Qcow2Format.Instance.Open(path, new ImageOpenOptions());
                _ = image.GetInfo();
                _ = image.GetExtents(0, Math.Min(image.Length, 1L << 30));
                var buffer = new byte[65536];
                image.Read(0, buffer.AsSpan(0, (int)Math.Min(buffer.Length, image.Length)));
            }
            catch (DiskImageException)
            {
            }
        }
    }

    private static string Fresh(TempDirectory dir)
    {
        var path = dir.File("image.qcow2");
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = 64L << 20, ClusterSize = ClusterSize });
        return path;
    }

    private static void Patch(string path, int offset, SpanAction write, int length)
    {
        var bytes = File.ReadAllBytes(path);
        write(bytes.AsSpan(offset, length));
        File.WriteAllBytes(path, bytes);
    }

    private delegate void SpanAction(Span<byte> bytes);
}
