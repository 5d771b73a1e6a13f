using DiskImage.Formats;
using DiskImage.Formats.Raw;
using DiskImage.Operations.Io;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Operations;

public class QemuIoSessionTests
{
    [Fact]
    public void Writes_then_verifies_patterns_and_reports_like_qemu_io()
    {
        using var dir = new TempDirectory();
        var path = dir.File("a.raw");
        RawFormat.Instance.Create(path, new RawCreateOptions { Size = 1 << 20 });
        using var image = ImageFormatRegistry.Default.Open(path, "raw", new ImageOpenOptions { ReadOnly = false });
        var session = new QemuIoSession(image);

        var write = session.Execute("write -P 0xab 4k 4k");
        Assert.False(write.Failed);
        Assert.Equal("wrote 4096/4096 bytes at offset 4096", write.Output[0]);
        Assert.StartsWith("4 KiB, 1 ops; ", write.Output[1], StringComparison.Ordinal);

        Assert.False(session.Execute("read -P 0xab 4096 4096").Failed);
        var wrong = session.Execute("read -P 0xac 4096 4096");
        Assert.True(wrong.Failed);
        Assert.Equal("Pattern verification failed at offset 4096, 4096 bytes", wrong.Output[0]);
        Assert.Equal("read 4096/4096 bytes at offset 4096", wrong.Output[1]);

        Assert.False(session.Execute("write -z 4k 1k").Failed);
        Assert.False(session.Execute("read -P 0 4k 1k").Failed);
        Assert.False(session.Execute("read -P 0xab 5k 3k").Failed);
        Assert.False(session.Execute("discard 5k 3k").Failed);
        Assert.False(session.Execute("read -q -P 0 4k 4k").Failed);
    }

    [Fact]
    public void Out_of_range_requests_fail_with_an_io_error_and_read_only_images_refuse_writes()
    {
        using var dir = new TempDirectory();
        var path = dir.File("a.raw");
        RawFormat.Instance.Create(path, new RawCreateOptions { Size = 65536 });
        using (var image = ImageFormatRegistry.Default.Open(path, "raw", new ImageOpenOptions { ReadOnly = false }))
        {
            var session = new QemuIoSession(image);
            Assert.Equal(["read failed: Input/output error"], session.Execute("read 64k 1").Output);
            Assert.Equal(["write failed: Input/output error"], session.Execute("write 65535 2").Output);
            Assert.Equal(["discard failed: Input/output error"], session.Execute("discard 1M 4k").Output);
            Assert.Equal(["64 KiB"], session.Execute("length").Output);
        }

        using var readOnly = ImageFormatRegistry.Default.Open(path, "raw");
        var outcome = new QemuIoSession(readOnly).Execute("write 0 1");
        Assert.True(outcome.Failed);
        Assert.Equal("Block node is read-only", outcome.Error);
    }

    [Fact]
    public void Dump_prints_offsets_hex_and_letters()
    {
        using var dir = new TempDirectory();
        var path = dir.File("a.raw");
        File.WriteAllBytes(path, [.. "Hello, world! 0123456789"u8.ToArray(), .. new byte[488]]);
        using var image = ImageFormatRegistry.Default.Open(path, "raw");
        var outcome = new QemuIoSession(image).Execute("read -v 0 20");
        Assert.Equal("00000000:  48 65 6c 6c 6f 2c 20 77 6f 72 6c 64 21 20 30 31  Hello..world..01", outcome.Output[0]);
        Assert.Equal("00000010:  32 33 34 35  2345", outcome.Output[1]);
        Assert.Equal("read 20/20 bytes at offset 0", outcome.Output[2]);
    }
}
