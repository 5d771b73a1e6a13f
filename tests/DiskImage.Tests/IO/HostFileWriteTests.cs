using DiskImage.IO;

namespace DiskImage.Tests.IO;

/// <summary>
/// <see cref="HostFile.Write"/> of large buffers: split so that no piece covers a whole aligned 2 MiB range of the file,
/// and every byte still lands where it belongs.
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
}
