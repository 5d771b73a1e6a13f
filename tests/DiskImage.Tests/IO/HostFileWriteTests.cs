using DiskImage.IO;

namespace DiskImage.Tests.IO;

/// <summary>
/// <see cref="HostFile.Write"/> of large buffers (split so that no piece covers a whole aligned 2 MiB range) and
/// <see cref="HostFile.Flush"/> (<c>fdatasync</c> on Linux, its failures reported with the C library's words).
/// </summary>
public class HostFileWriteTests : IDisposable
{
    private const int MiB = 1 << 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("hostfile-write-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(0L, 2 * MiB, true)]
    [InlineData(0L, 2 * MiB - 1, false)]
    [InlineData(4096L, 2 * MiB, false)]
    [InlineData(0x50000L, 2 * MiB, false)] // a qcow2 data run 320 KiB into the file, as convert writes it
    [InlineData(0x50000L, 4 * MiB, true)]
    [InlineData(2 * MiB - 1, 2 * MiB + 1, true)]
    [InlineData(2 * MiB - 1, 2 * MiB, false)]
    [InlineData(6L * MiB, 3 * MiB, true)]
    [InlineData(0L, 4096, false)]
    public void Covers_a_huge_folio_only_when_a_whole_aligned_2_MiB_range_lies_inside(long offset, int length, bool expected)
    {
        Assert.Equal(expected, HostFile.CoversHugeFolio(offset, length));
    }

    [Theory]
    [InlineData(0L, 2 * MiB)]
    [InlineData(0L, 5 * MiB + 12345)]
    [InlineData(MiB - 512, 4 * MiB)]
    [InlineData(3L * MiB + 77, 2 * MiB + 1)]
    public void A_large_write_lands_byte_for_byte_whatever_its_offset(long offset, int length)
    {
        var bytes = new byte[length];
        new Random((int)offset ^ length).NextBytes(bytes);
        var path = Path.Combine(_dir, "target");
        using (var file = HostFile.Create(path))
        {
            file.Write(offset, bytes);
            file.Flush();
            Assert.Equal(offset + length, file.Length);
        }

        var result = File.ReadAllBytes(path);
        Assert.Equal(offset + length, result.Length);
        Assert.Equal(-1, result.AsSpan(0, (int)offset).IndexOfAnyExcept((byte)0));
        Assert.True(result.AsSpan((int)offset).SequenceEqual(bytes));
    }

    [Fact]
    public void A_flush_the_kernel_refuses_is_an_IOException_with_strerror_text_and_errno()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // fdatasync(2) on a character device without a sync operation fails with EINVAL; nothing may hide that.
        using var file = HostFile.Open("/dev/null", writable: true);
        file.Write(0, new byte[16]);

        var error = Assert.Throws<IOException>(file.Flush);

        Assert.Equal("Invalid argument", error.Message);
        Assert.Equal(22, error.HResult);

        // The failed flush is owed: the next one tries again rather than reporting success.
        Assert.Throws<IOException>(file.Flush);
    }
}
