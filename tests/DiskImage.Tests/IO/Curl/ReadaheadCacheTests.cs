using DiskImage.IO.Curl;

namespace DiskImage.Tests.IO.Curl;

public class ReadaheadCacheTests
{
    private sealed class CountingFile(byte[] data)
    {
        public List<(long Offset, int Count)> Fetches { get; } = [];

        public byte[] Fetch(long offset, int count)
        {
            Assert.True(offset >= 0 && count > 0 && offset + count <= data.Length, $"fetch past the file: {offset}+{count}");
            Fetches.Add((offset, count));
            return data.AsSpan((int)offset, count).ToArray();
        }
    }

    private static byte[] Data(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Fact]
    public void Sequential_small_reads_make_one_fetch_per_window()
    {
        var data = Data(1 << 20, 1);
        var file = new CountingFile(data);
        var cache = new ReadaheadCache(file.Fetch, data.Length, 64 * 1024);
        var buffer = new byte[512];
        for (var offset = 0; offset < 256 * 1024; offset += 512)
        {
            cache.Read(offset, buffer);
            Assert.True(buffer.AsSpan().SequenceEqual(data.AsSpan(offset, 512)));
        }

        // Each miss fetches the 512 bytes asked for and 64 KiB beyond them.
        Assert.Equal(4, file.Fetches.Count);
        Assert.All(file.Fetches, f => Assert.Equal(512 + (64 * 1024), f.Count));
    }

    [Fact]
    public void Reads_past_the_end_are_zeroes_and_fetch_nothing_beyond_it()
    {
        var data = Data(10_000, 2);
        var file = new CountingFile(data);
        var cache = new ReadaheadCache(file.Fetch, data.Length, 256 * 1024);
        var buffer = new byte[4096];
        buffer.AsSpan().Fill(0xee);
        cache.Read(8192, buffer);
        Assert.True(buffer.AsSpan(0, 10_000 - 8192).SequenceEqual(data.AsSpan(8192)));
        Assert.True(buffer.AsSpan(10_000 - 8192).IndexOfAnyExcept((byte)0) < 0);
        buffer.AsSpan().Fill(0xee);
        cache.Read(20_000, buffer);
        Assert.True(buffer.AsSpan().IndexOfAnyExcept((byte)0) < 0);
        Assert.Single(file.Fetches);
    }

    /// <summary>Model-based: random reads of random sizes always return the file's bytes, and memory stays bounded.</summary>
    [Theory]
    [InlineData(3, 0)]
    [InlineData(4, 4096)]
    [InlineData(5, 256 * 1024)]
    public void Random_reads_return_the_files_bytes(int seed, int readahead)
    {
        var data = Data((3 << 20) + 123, seed);
        var file = new CountingFile(data);
        var cache = new ReadaheadCache(file.Fetch, data.Length, readahead);
        var random = new Random(seed);
        for (var i = 0; i < 400; i++)
        {
            var offset = random.Next(data.Length + 8192);
            var length = random.Next(4) == 0 ? random.Next(1, 6 << 20) : random.Next(1, 70_000);
            var buffer = new byte[length];
            cache.Read(offset, buffer);
            var inside = Math.Clamp(data.Length - offset, 0, length);
            Assert.True(buffer.AsSpan(0, inside).SequenceEqual(data.AsSpan(Math.Min(offset, data.Length), inside)), $"read {i} at {offset}+{length}");
            Assert.True(buffer.AsSpan(inside).IndexOfAnyExcept((byte)0) < 0);
        }

        Assert.All(file.Fetches, f => Assert.True(f.Count <= cache.MaxEntryBytes));
    }

    [Fact]
    public void A_failed_fetch_leaves_nothing_cached()
    {
        var data = Data(100_000, 6);
        var fail = true;
        var cache = new ReadaheadCache((o, c) => fail ? throw new CurlTransferException("boom") : data.AsSpan((int)o, c).ToArray(), data.Length, 4096);
        Assert.Throws<CurlTransferException>(() => cache.Read(0, new byte[100]));
        fail = false;
        var buffer = new byte[100];
        cache.Read(0, buffer);
        Assert.True(buffer.AsSpan().SequenceEqual(data.AsSpan(0, 100)));
    }
}
