using DiskImage.Formats;
using DiskImage.Formats.Raw;
using DiskImage.IO;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Raw;

public class RawImageTests
{
    [Fact]
    public void Thin_create_makes_a_sparse_file_that_reads_as_zeroes()
    {
        using var dir = new TempDirectory();
        var path = dir.File("thin.raw");
        RawFormat.Instance.Create(path, new RawCreateOptions { Size = 64 << 20 });

        using var image = ImageFormatRegistry.Default.Open(path, "raw");
        Assert.Equal(64 << 20, image.Length);
        Assert.True(image.GetInfo().ActualSize < 1 << 20);
        var buffer = new byte[4096];
        image.Read(10 << 20, buffer);
        Assert.All(buffer, b => Assert.Equal(0, b));
        // As QEMU's file driver, the first 4 KiB are written (zeroes) so O_DIRECT opens can probe the alignment.
        Assert.Equal([new Extent(0, 4096, ExtentKind.Data), new Extent(4096, (64 << 20) - 4096, ExtentKind.Zero)], image.GetExtents(0, 64 << 20));
    }

    [Theory]
    [InlineData(512, 512)]
    [InlineData(4096, 4096)]
    [InlineData(1 << 20, 4096)]
    public void Create_writes_the_first_block_as_qemus_file_driver_does(int size, int firstBlock)
    {
        // QEMU writes 512 bytes when the file is smaller than 4 KiB, else 4 KiB (block/file-posix.c).
        using var dir = new TempDirectory();
        var path = dir.File("first.raw");
        RawFormat.Instance.Create(path, new RawCreateOptions { Size = size });
        using var image = ImageFormatRegistry.Default.Open(path, "raw");
        var extents = image.GetExtents(0, size);
        Assert.Equal(new Extent(0, firstBlock, ExtentKind.Data), extents[0]);
        Assert.Equal(size, new FileInfo(path).Length);
    }

    [Theory]
    [InlineData(Preallocation.Falloc)]
    [InlineData(Preallocation.Full)]
    public void Thick_create_allocates_every_byte(Preallocation mode)
    {
        using var dir = new TempDirectory();
        var path = dir.File("thick.raw");
        RawFormat.Instance.Create(path, new RawCreateOptions { Size = 8 << 20, Preallocation = mode });

        using var image = ImageFormatRegistry.Default.Open(path, "raw");
        Assert.True(image.GetInfo().ActualSize >= 8 << 20);
    }

    [Fact]
    public void Block_status_follows_the_files_real_holes()
    {
        using var dir = new TempDirectory();
        var path = dir.File("holes.raw");
        RawFormat.Instance.Create(path, new RawCreateOptions { Size = 4 << 20 });
        using (var image = ImageFormatRegistry.Default.Open(path, "raw", new ImageOpenOptions { ReadOnly = false }))
        {
            image.Write(1 << 20, new byte[65536].Select(_ => (byte)7).ToArray());
            image.Flush();
        }

        using var reopened = ImageFormatRegistry.Default.Open(path, "raw");
        var extents = reopened.GetExtents(0, 4 << 20);
        // The first block is written at creation, as QEMU's file driver writes it.
        Assert.Equal(new Extent(0, 4096, ExtentKind.Data), extents[0]);
        Assert.Equal(new Extent(4096, (1 << 20) - 4096, ExtentKind.Zero), extents[1]);
        Assert.Equal(ExtentKind.Data, extents[2].Kind);
        Assert.Equal(1 << 20, extents[2].Offset);
        Assert.Equal(4 << 20, extents[^1].End);
    }

    [Fact]
    public void Guessed_raw_refuses_a_qcow2_header_in_block_0()
    {
        using var dir = new TempDirectory();
        var path = dir.File("guess.raw");
        RawFormat.Instance.Create(path, new RawCreateOptions { Size = 1 << 20 });
        using var image = ImageFormatRegistry.Default.Open(path, formatName: null, new ImageOpenOptions { ReadOnly = false });
        var header = new byte[512];
        header[0] = (byte)'Q'; header[1] = (byte)'F'; header[2] = (byte)'I'; header[3] = 0xFB; header[7] = 3;
        if (ImageFormatRegistry.Default.TryGet("qcow2", out _))
        {
            // EPERM, as QEMU's raw driver fails the write.
            Assert.Equal(ErrnoException.EPERM, Assert.Throws<ErrnoException>(() => image.Write(0, header)).Errno);
        }
        else
        {
            image.Write(0, header);
            Assert.Equal("raw", ImageFormatRegistry.Default.Probe(path).Name);
        }
    }
}
