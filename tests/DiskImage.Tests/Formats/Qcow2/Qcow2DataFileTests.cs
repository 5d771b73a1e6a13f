using System.Buffers.Binary;
using System.Text;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Qcow2;

/// <summary>
/// The external data file header extension (magic 0x44415441, docs/interop/qcow2.txt) and incompatible bit 2: what is
/// written, how the name is read back, and the open errors for inconsistent headers. Hostile headers of such images go
/// through the same mutation loop as plain ones.
/// </summary>
public class Qcow2DataFileTests
{
    private const uint DataFileMagic = 0x44415441;

    [Fact]
    public void Create_writes_the_feature_bit_and_the_name_extension_and_data_lands_at_guest_offsets()
    {
        using var dir = new TempDirectory();
        var (path, data) = Create(dir, raw: false);
        var header = File.ReadAllBytes(path).AsSpan(0, 65536);
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(header[4..]));
        Assert.Equal(1UL << 2, BinaryPrimitives.ReadUInt64BigEndian(header[72..]) & (1UL << 2));
        Assert.Equal(data, Encoding.UTF8.GetString(FindExtension(header, DataFileMagic)));

        using (var image = Qcow2Format.Instance.Open(path, new ImageOpenOptions { ReadOnly = false }))
        {
            Assert.Equal(data, ((Qcow2SpecificInfo)image.GetInfo().FormatSpecific!).DataFile);
            image.Write(3 << 20, Enumerable.Repeat((byte)0xa5, 4096).ToArray());
        }

        var stored = File.ReadAllBytes(data);
        Assert.Equal(4L << 20, stored.Length);
        Assert.All(stored.AsSpan(3 << 20, 4096).ToArray(), b => Assert.Equal(0xa5, b));
        Assert.DoesNotContain((byte)0xa5, File.ReadAllBytes(path));
    }

    [Fact]
    public void Raw_mode_sets_the_autoclear_bit_and_maps_every_cluster_one_to_one()
    {
        using var dir = new TempDirectory();
        var (path, _) = Create(dir, raw: true);
        Assert.Equal(1UL << 1, BinaryPrimitives.ReadUInt64BigEndian(File.ReadAllBytes(path).AsSpan(88)) & (1UL << 1));
        using var image = (Qcow2Image)Qcow2Format.Instance.Open(path, new ImageOpenOptions());
        var extents = image.GetExtents(0, image.Length);
        Assert.Single(extents);
        Assert.Equal(DiskImage.IO.ExtentKind.Data, extents[0].Kind);
    }

    [Fact]
    public void The_bit_without_a_name_needs_data_file_filename()
    {
        using var dir = new TempDirectory();
        var (path, data) = Create(dir, raw: false);
        RemoveExtension(path, DataFileMagic);
        var error = Assert.Throws<InvalidOptionException>(() => Qcow2Format.Instance.Open(path, new ImageOpenOptions()).Dispose());
        Assert.Equal("'data-file' is required for this image", error.Message);

        var named = new ImageOpenOptions { FormatOptions = new Dictionary<string, string> { [Qcow2DataFile.FilenameOption] = data } };
        using var image = Qcow2Format.Instance.Open(path, named);
        Assert.Null(((Qcow2SpecificInfo)image.GetInfo().FormatSpecific!).DataFile);
    }

    [Fact]
    public void A_name_for_an_image_without_a_data_file_and_a_stray_raw_bit_are_refused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("plain.qcow2");
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = 1 << 20 });
        var named = new ImageOpenOptions { FormatOptions = new Dictionary<string, string> { [Qcow2DataFile.FilenameOption] = dir.File("x") } };
        Assert.Equal("'data-file' can only be set for images with an external data file",
            Assert.Throws<InvalidOptionException>(() => Qcow2Format.Instance.Open(path, named).Dispose()).Message);

        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(88), 1UL << 1);
        File.WriteAllBytes(path, bytes);
        Assert.Equal("data-file-raw requires a data file",
            Assert.Throws<InvalidImageException>(() => Qcow2Format.Instance.Open(path, new ImageOpenOptions()).Dispose()).Message);
    }

    [Fact]
    public void Create_refuses_what_qemu_img_refuses()
    {
        using var dir = new TempDirectory();
        var path = dir.File("t.qcow2");
        Assert.Equal("data-file-raw requires data-file", Assert.Throws<DriverOptionException>(
            () => Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = 1 << 20, DataFileRaw = true })).Message);
        Assert.StartsWith("External data files are only supported with compatibility level 1.1", Assert.Throws<DriverOptionException>(
            () => Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = 1 << 20, Version = 2, DataFile = dir.File("d") })).Message);
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(dir.File("d")));
    }

    [Fact]
    public void Random_header_bytes_of_data_file_images_only_ever_raise_library_exceptions()
    {
        using var dir = new TempDirectory();
        var (path, _) = Create(dir, raw: true);
        var original = File.ReadAllBytes(path);
        var mutant = dir.File("mutant.qcow2");
        var random = new Random(7);
        for (var i = 0; i < 300; i++)
        {
            var bytes = (byte[])original.Clone();
            for (var flips = random.Next(1, 6); flips > 0; flips--)
            {
                // Mostly inside the header extensions (the data file name among them), sometimes in the fixed fields.
                var at = random.Next(4) == 0 ? 8 + random.Next(100) : 104 + random.Next(300);
                bytes[at] = (byte)random.Next(256);
            }

            File.WriteAllBytes(mutant, bytes);
            try
            {
                using var image = Qcow2Format.Instance.Open(mutant, new ImageOpenOptions());
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

    private static (string Path, string Data) Create(TempDirectory dir, bool raw)
    {
        var path = dir.File("image.qcow2");
        var data = dir.File("image.data");
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = 4L << 20, DataFile = data, DataFileRaw = raw });
        return (path, data);
    }

    /// <summary>The payload of the header extension with <paramref name="magic"/>, walked by the spec's layout.</summary>
    private static byte[] FindExtension(ReadOnlySpan<byte> header, uint magic)
    {
        var offset = (int)BinaryPrimitives.ReadUInt32BigEndian(header[100..]);
        while (true)
        {
            var type = BinaryPrimitives.ReadUInt32BigEndian(header[offset..]);
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(header[(offset + 4)..]);
            Assert.NotEqual(0u, type);
            if (type == magic)
            {
                return header.Slice(offset + 8, length).ToArray();
            }

            offset += 8 + ((length + 7) & ~7);
        }
    }

    /// <summary>Rewrites the extension's magic as padding-free unknown type 0x1 so the name is gone (kept by readers as unknown).</summary>
    private static void RemoveExtension(string path, uint magic)
    {
        var bytes = File.ReadAllBytes(path);
        var offset = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(100));
        while (BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset)) is var type && type != 0)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset + 4));
            if (type == magic)
            {
                BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(offset), 0x12345678);
            }

            offset += 8 + ((length + 7) & ~7);
        }

        File.WriteAllBytes(path, bytes);
    }
}
