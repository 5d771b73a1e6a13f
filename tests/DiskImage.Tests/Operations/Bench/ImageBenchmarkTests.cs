using DiskImage.Formats;
using DiskImage.Operations.Bench;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Operations.Bench;

public class ImageBenchmarkTests
{
    private const int K = 1024;

    [Fact]
    public void Offsets_advance_by_the_step_and_wrap_within_length_minus_buffer_size()
    {
        var options = new ImageBenchmarkOptions { BufferSize = 4 * K, Step = 12 * K };
        var offsets = Enumerable.Range(0, 8).Select(i => ImageBenchmark.OffsetOf(i, 64 * K, options)).ToArray();
        // 64 KiB image, 4 KiB requests: offsets wrap modulo 60 KiB, so no request runs past the end.
        Assert.Equal(new long[] { 0, 12 * K, 24 * K, 36 * K, 48 * K, 0, 12 * K, 24 * K }, offsets);
    }

    [Fact]
    public void First_request_uses_the_start_offset_unwrapped()
    {
        var options = new ImageBenchmarkOptions { BufferSize = 4 * K, Step = 12 * K, Offset = 60 * K };
        Assert.Equal(60 * K, ImageBenchmark.OffsetOf(0, 64 * K, options));
        Assert.Equal(12 * K, ImageBenchmark.OffsetOf(1, 64 * K, options));
    }

    [Fact]
    public void Image_no_larger_than_one_request_keeps_every_request_at_zero()
    {
        var options = new ImageBenchmarkOptions { BufferSize = 4 * K };
        Assert.Equal(0, ImageBenchmark.OffsetOf(5, 4 * K, options));
    }

    [Fact]
    public void Huge_index_and_step_do_not_overflow()
    {
        var options = new ImageBenchmarkOptions { BufferSize = 512, Step = int.MaxValue, Offset = long.MaxValue - 4096 };
        var offset = ImageBenchmark.OffsetOf(int.MaxValue, long.MaxValue, options);
        Assert.InRange(offset, 0, long.MaxValue - 512);
    }

    [Theory]
    [InlineData(-1, 64, 4096, 0, false)]
    [InlineData(10, 0, 4096, 0, false)]
    [InlineData(10, 64, -1, 0, false)]
    [InlineData(10, 64, 4096, 8, true)]
    [InlineData(10, 64, 4096, 64, false)]
    public void Invalid_option_combinations_are_refused(int count, int depth, int bufferSize, int flushInterval, bool write)
    {
        var options = new ImageBenchmarkOptions { Count = count, Depth = depth, BufferSize = bufferSize, FlushInterval = flushInterval, Write = write };
        Assert.Throws<InvalidOptionException>(options.Validate);
    }

    [Fact]
    public void Request_past_the_end_is_refused_before_any_io()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.raw");
        File.WriteAllBytes(path, new byte[64 * K]);
        var options = new ImageBenchmarkOptions { Format = "raw", Offset = 62 * K, Count = 1 };
        Assert.Throws<InvalidOptionException>(() => ImageBenchmark.Run(path, options));
    }

    [Fact]
    public void Write_run_fills_every_requested_range_with_the_pattern_and_nothing_else()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.raw");
        File.WriteAllBytes(path, new byte[256 * K]);
        var options = new ImageBenchmarkOptions { Format = "raw", Write = true, Pattern = 0xa5, Count = 10, Depth = 3, BufferSize = 4 * K, Step = 16 * K, Offset = 8 * K };

        var result = ImageBenchmark.Run(path, options);

        Assert.Equal(10, result.Requests);
        Assert.Equal(40 * K, result.Bytes);
        var bytes = File.ReadAllBytes(path);
        for (var i = 0; i < bytes.Length; i++)
        {
            var block = i - (8 * K);
            var written = block >= 0 && block / (16 * K) < 10 && block % (16 * K) < 4 * K;
            Assert.Equal(written ? (byte)0xa5 : (byte)0, bytes[i]);
        }
    }
}
