using System.Buffers.Binary;
using DiskImage.Formats;
using DiskImage.Formats.Vhdx;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Migration;

/// <summary>VHDX creation, writing and log replay without external tools.</summary>
public class VhdxWriteUnitTests
{
    private const long MiB = 1 << 20;

    /// <summary>File lengths qemu-img 7.2 gives these images (seen with <c>ls -l</c> after <c>qemu-img create</c>).</summary>
    [Theory]
    [InlineData(37L << 20, "", 8388608L)]
    [InlineData(37L << 20, "subformat=fixed", 47185920L)]
    [InlineData(37L << 20, "block_size=1M,log_size=3M", 10485760L)]
    [InlineData(0L, "", 74448896L)]
    public void Layout_gives_qemu_img_s_file_length(long size, string options, long expected)
    {
        var parsed = (VhdxCreateOptions)VhdxFormat.Instance.ParseCreateOptions(size, Options(options));
        var layout = VhdxCreator.Plan(parsed);
        Assert.Equal(expected, layout.DataOffset + (parsed.Fixed ? layout.Size : 0));
    }

    [Theory]
    [InlineData(100L, 1L << 20)]
    [InlineData(512L << 20, 256L << 20)]
    public void Block_sizes_round_as_in_qemu_img(long given, long expected) =>
        Assert.Equal(expected, VhdxCreator.Plan(new VhdxCreateOptions { Size = 1 << 30, BlockSize = given }).BlockSize);

    [Theory]
    [InlineData(3L << 20, 1L << 20, "Block size must be a power of two")]
    [InlineData(1L << 20, 5L << 30, "Log size must be smaller than 4 GB")]
    public void Bad_sizes_are_refused_with_qemu_img_s_words(long blockSize, long logSize, string message) =>
        Assert.Equal(message, Assert.Throws<InvalidOptionException>(() => VhdxCreator.Plan(new VhdxCreateOptions { Size = 1 << 30, BlockSize = blockSize, LogSize = logSize })).Message);

    [Theory]
    [InlineData("subformat=dynamic")]
    [InlineData("subformat=fixed")]
    [InlineData("subformat=fixed,block_state_zero=off")]
    [InlineData("block_state_zero=off,block_size=1M")]
    public void Written_data_reads_back_and_leaves_the_log_empty(string options)
    {
        using var dir = new TempDirectory();
        var path = dir.File("d.vhdx");
        VhdxFormat.Instance.Create(path, VhdxFormat.Instance.ParseCreateOptions(19 << 20, Options(options)));
        var data = new byte[5 << 20];
        new Random(3).NextBytes(data);
        using (var image = ImageFormatRegistry.Default.Open(path, "vhdx", new ImageOpenOptions { ReadOnly = false }))
        {
            image.Write(3 << 20, data);
            image.Write(18 << 20, data.AsSpan(0, 4096));
        }

        using var reopened = ImageFormatRegistry.Default.Open(path, "vhdx");
        var back = new byte[19 << 20];
        reopened.Read(0, back);
        Assert.True(back.AsSpan(3 << 20, data.Length).SequenceEqual(data));
        Assert.True(back.AsSpan(18 << 20, 4096).SequenceEqual(data.AsSpan(0, 4096)));
        Assert.True(back.AsSpan(0, 3 << 20).IndexOfAnyExcept((byte)0) < 0);
        using var file = DiskImage.IO.Storage.Open(path, writable: false);
        Assert.Equal(Guid.Empty, VhdxHeader.ReadCurrent(file).LogGuid);
    }

    /// <summary>Writers on several threads allocate blocks at once; every block lands once and reads back.</summary>
    [Fact]
    public void Parallel_writes_allocate_each_block_once()
    {
        using var dir = new TempDirectory();
        var path = dir.File("par.vhdx");
        VhdxFormat.Instance.Create(path, VhdxFormat.Instance.ParseCreateOptions(32 << 20, Options("block_size=1M")));
        using (var image = ImageFormatRegistry.Default.Open(path, "vhdx", new ImageOpenOptions { ReadOnly = false }))
        {
            Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            {
                var chunk = new byte[512 << 10];
                chunk.AsSpan().Fill((byte)(i + 1));
                image.Write(i * (512L << 10), chunk);
            });
        }

        using var reopened = ImageFormatRegistry.Default.Open(path, "vhdx");
        var back = new byte[512 << 10];
        for (var i = 0; i < 64; i++)
        {
            reopened.Read(i * (512L << 10), back);
            Assert.True(back.AsSpan().IndexOfAnyExcept((byte)(i + 1)) < 0, $"chunk {i}");
        }

        // 32 blocks of 1 MiB, each allocated once after the 8 MiB qemu-img leaves before data.
        Assert.Equal((8L << 20) + (32L << 20), new FileInfo(path).Length);
    }

    [Fact]
    public void A_pending_entry_is_refused_read_only_and_replayed_read_write()
    {
        using var dir = new TempDirectory();
        var path = dir.File("p.vhdx");
        VhdxFormat.Instance.Create(path, VhdxFormat.Instance.ParseCreateOptions(4 << 20, Options("subformat=fixed,block_state_zero=off,block_size=1M")));
        var blockOffset = FirstBlock(path);
        var sector = new byte[4096];
        new Random(9).NextBytes(sector);
        AddPendingEntry(path, VhdxLog.BuildEntry(Guid.NewGuid(), 3, 0, new FileInfo(path).Length, blockOffset + 4096, sector));

        Assert.Throws<ImageAccessException>(() => ImageFormatRegistry.Default.Open(path, "vhdx"));
        using (ImageFormatRegistry.Default.Open(path, "vhdx", new ImageOpenOptions { ReadOnly = false }))
        {
        }

        using var image = ImageFormatRegistry.Default.Open(path, "vhdx");
        var back = new byte[4096];
        image.Read(4096, back);
        Assert.Equal(sector, back);
    }

    [Fact]
    public void An_entry_with_a_wrong_checksum_is_no_pending_log()
    {
        using var dir = new TempDirectory();
        var path = dir.File("c.vhdx");
        VhdxFormat.Instance.Create(path, VhdxFormat.Instance.ParseCreateOptions(4 << 20, Options("block_size=1M")));
        var entry = VhdxLog.BuildEntry(Guid.NewGuid(), 3, 0, new FileInfo(path).Length, 2 * MiB, new byte[4096]);
        entry[5000] ^= 0x40;
        AddPendingEntry(path, entry);
        using var image = ImageFormatRegistry.Default.Open(path, "vhdx");
        Assert.Equal(4 << 20, image.Length);
    }

    [Fact]
    public void A_malformed_descriptor_fails_the_open_with_one_line()
    {
        using var dir = new TempDirectory();
        var path = dir.File("m.vhdx");
        VhdxFormat.Instance.Create(path, VhdxFormat.Instance.ParseCreateOptions(4 << 20, Options("block_size=1M")));
        var entry = VhdxLog.BuildEntry(Guid.NewGuid(), 3, 0, new FileInfo(path).Length, 2 * MiB, new byte[4096]);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(64 + 16), (2 * MiB) + 1); // not 4 KiB aligned
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4), VhdxCrc32C.Compute(entry, 4));
        AddPendingEntry(path, entry);
        var e = Assert.Throws<InvalidImageException>(() => ImageFormatRegistry.Default.Open(path, "vhdx", new ImageOpenOptions { ReadOnly = false }));
        Assert.EndsWith("Invalid argument", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static Dictionary<string, string> Options(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1]);

    private static long FirstBlock(string path)
    {
        using var file = DiskImage.IO.Storage.Open(path, writable: false);
        var regions = VhdxRegionTable.Read(file);
        var entry = new byte[8];
        file.Read(regions.BatOffset, entry);
        return (long)(BinaryPrimitives.ReadUInt64LittleEndian(entry) & ~0xFFFFFUL);
    }

    /// <summary>Points both headers at the entry's log GUID and puts the entry at the start of the log.</summary>
    private static void AddPendingEntry(string path, byte[] entry)
    {
        var logGuid = new Guid(entry.AsSpan(32, 16));
        using var file = DiskImage.IO.Storage.Open(path, writable: true);
        var (current, _, blocks) = VhdxHeader.ReadBoth(file);
        for (var i = 0; i < 2; i++)
        {
            (current with { SequenceNumber = current.SequenceNumber + 1 + (ulong)i, LogGuid = logGuid }).WriteTo(blocks[i]);
            file.Write(i == 0 ? VhdxHeader.FirstOffset : VhdxHeader.SecondOffset, blocks[i]);
        }

        file.Write((long)current.LogOffset, entry);
    }
}
