using CsCheck;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.IO;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.IO;

/// <summary>
/// <see cref="DiskImageStream"/> must read and write exactly the bytes <see cref="IBlockDevice"/> does, at any
/// offset and length, including across the end of the image; its <c>CopyToAsync</c> must give the whole image.
/// </summary>
public class DiskImageStreamTests
{
    private const long ImageSize = (4L << 20) + 3072;   // not a cluster multiple: the tail is a partial cluster

    [Fact]
    public void Reads_match_the_device_at_random_offsets_and_lengths()
    {
        using var dir = new TempDirectory();
        using var image = CreateQcow2(dir.File("a.qcow2"), backing: null);
        Populate(image, seed: 1);
        using var stream = image.AsStream();
        Gen.Select(Gen.Long[0, ImageSize + 70_000], Gen.Int[0, 200_000], Gen.Bool)
            .Sample((offset, length, viaAsync) =>
            {
                stream.Position = offset;
                var got = new byte[length];
                var n = viaAsync ? stream.ReadAsync(got).AsTask().GetAwaiter().GetResult() : stream.Read(got);
                var expected = (int)Math.Clamp(ImageSize - offset, 0, length);
                Assert.Equal(expected, n);
                var want = new byte[expected];
                if (expected > 0)
                {
                    image.Read(offset, want);
                }

                Assert.True(want.AsSpan().SequenceEqual(got.AsSpan(0, n)), $"bytes differ at {offset}+{length}");
                Assert.Equal(offset + n, stream.Position);
            }, iter: 300, threads: 1, seed: "0000Stream001");
    }

    [Fact]
    public void Writes_match_the_device_and_a_write_across_the_end_changes_nothing()
    {
        using var dir = new TempDirectory();
        using var image = CreateQcow2(dir.File("w.qcow2"), backing: null);
        var model = new byte[ImageSize];
        using var stream = image.AsStream();
        Gen.Select(Gen.Long[0, ImageSize + 10_000], Gen.Int[1, 150_000], Gen.Byte, Gen.Bool)
            .Sample((offset, length, fill, viaAsync) =>
            {
                var data = new byte[length];
                Array.Fill(data, fill);
                data[0] = (byte)(fill ^ 0x5a);
                stream.Position = offset;
                if (offset + length > ImageSize)
                {
                    Assert.Throws<IOException>(() =>
                    {
                        if (viaAsync)
                        {
                            stream.WriteAsync(data).AsTask().GetAwaiter().GetResult();
                        }
                        else
                        {
                            stream.Write(data);
                        }
                    });
                    Assert.Equal(offset, stream.Position);
                }
                else
                {
                    if (viaAsync)
                    {
                        stream.WriteAsync(data).AsTask().GetAwaiter().GetResult();
                    }
                    else
                    {
                        stream.Write(data);
                    }

                    data.CopyTo(model, offset);
                    Assert.Equal(offset + length, stream.Position);
                }

                var whole = new byte[ImageSize];
                image.Read(0, whole);
                Assert.True(model.AsSpan().SequenceEqual(whole), $"image differs from the model after a write at {offset}+{length}");
            }, iter: 60, threads: 1, seed: "0000Stream002");
    }

    [Fact]
    public async Task CopyToAsync_of_an_overlay_gives_every_byte_and_keeps_a_new_file_sparse()
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("base.qcow2");
        using (var baseImage = CreateQcow2(basePath, backing: null))
        {
            baseImage.Write(1 << 20, Enumerable.Repeat((byte)7, 100_000).ToArray());
        }

        using var image = CreateQcow2(dir.File("top.qcow2"), backing: basePath);
        Populate(image, seed: 2);
        var expected = new byte[ImageSize];
        image.Read(0, expected);

        var target = dir.File("copy.raw");
        await using (var file = new FileStream(target, FileMode.CreateNew, FileAccess.Write))
        {
            await using var stream = image.AsStream();
            await stream.CopyToAsync(file);
        }

        Assert.Equal(expected, await File.ReadAllBytesAsync(target));
        using var copy = HostFile.Open(target, writable: false);
        Assert.Contains(copy.GetExtents(0, copy.Length), e => e.Kind != ExtentKind.Data);

        // A destination that cannot seek, from the middle: zeroes are written.
        using var memory = new NonSeekableStream();
        await using (var stream = image.AsStream())
        {
            stream.Position = 12345;
            await stream.CopyToAsync(memory);
            Assert.Equal(ImageSize, stream.Position);
        }

        Assert.Equal(expected.AsSpan(12345).ToArray(), memory.Inner.ToArray());
    }

    [Fact]
    public async Task CopyToAsync_overwrites_existing_bytes_of_the_destination_with_zeroes()
    {
        using var dir = new TempDirectory();
        using var image = CreateQcow2(dir.File("z.qcow2"), backing: null);
        image.Write(64 << 10, new byte[] { 1, 2, 3 });
        var expected = new byte[ImageSize];
        image.Read(0, expected);
        var target = dir.File("dirty.raw");
        await File.WriteAllBytesAsync(target, Enumerable.Repeat((byte)0xee, (int)ImageSize + 10).ToArray());
        await using (var file = new FileStream(target, FileMode.Open, FileAccess.ReadWrite))
        {
            await using var stream = image.AsStream();
            await stream.CopyToAsync(file);
        }

        var got = await File.ReadAllBytesAsync(target);
        Assert.Equal(expected, got.AsSpan(0, (int)ImageSize).ToArray());
    }

    [Fact]
    public async Task CopyToAsync_reads_only_ranges_that_hold_data()
    {
        var device = new CountingDevice(10 << 20, [new Extent(0, 4 << 20, ExtentKind.Unallocated), new Extent(4 << 20, 1 << 20, ExtentKind.Data), new Extent(5 << 20, 5 << 20, ExtentKind.Zero)]);
        using var sink = new MemoryStream();
        await new DiskImageStream(device).CopyToAsync(sink);
        Assert.Equal(1L << 20, device.BytesRead);
        Assert.Equal(10L << 20, sink.Length);
    }

    [Fact]
    public void The_stream_refuses_what_an_image_cannot_do()
    {
        using var dir = new TempDirectory();
        var path = dir.File("ro.qcow2");
        CreateQcow2(path, backing: null).Dispose();
        using var image = ImageFormatRegistry.Default.Open(path, "qcow2");
        using var stream = new DiskImageStream(image, leaveOpen: true);
        Assert.True(stream.CanRead && stream.CanSeek);
        Assert.False(stream.CanWrite);
        Assert.Equal(ImageSize, stream.Length);
        Assert.Throws<NotSupportedException>(() => stream.Write([1]));
        Assert.Throws<NotSupportedException>(() => stream.SetLength(10));
        Assert.Throws<IOException>(() => stream.Seek(-1, SeekOrigin.Begin));
        Assert.Equal(ImageSize - 10, stream.Seek(-10, SeekOrigin.End));
        stream.Dispose();
        Assert.Throws<ObjectDisposedException>(() => stream.Position);
        Assert.Equal(ImageSize, image.Length);   // leaveOpen kept the image usable
    }

    private static IDiskImage CreateQcow2(string path, string? backing)
    {
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = ImageSize, ClusterSize = 4096, BackingFile = backing, BackingFormat = backing is null ? null : "qcow2" });
        return ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false });
    }

    private static void Populate(IDiskImage image, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 40; i++)
        {
            var offset = random.NextInt64(0, ImageSize - 1);
            var data = new byte[(int)Math.Min(random.Next(1, 40_000), ImageSize - offset)];
            random.NextBytes(data);
            image.Write(offset, data);
        }

        image.WriteZeroes(8192, 8192, mayUnmap: false);
    }

    private sealed class NonSeekableStream : Stream
    {
        public MemoryStream Inner { get; } = new();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() { }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Inner.Write(buffer, offset, count);
    }

    /// <summary>A device with fixed extents that counts the bytes it is asked to read.</summary>
    private sealed class CountingDevice(long length, Extent[] extents) : IBlockDevice
    {
        private long _bytesRead;

        public long BytesRead => Interlocked.Read(ref _bytesRead);

        public long Length => length;

        public bool CanWrite => false;

        public void Read(long offset, Span<byte> buffer)
        {
            Interlocked.Add(ref _bytesRead, buffer.Length);
            buffer.Fill(1);
        }

        public void Write(long offset, ReadOnlySpan<byte> data) => throw new NotSupportedException();

        public void WriteZeroes(long offset, long length, bool mayUnmap) => throw new NotSupportedException();

        public void Discard(long offset, long length) => throw new NotSupportedException();

        public void Flush() { }

        public IReadOnlyList<Extent> GetExtents(long offset, long length) =>
            extents.Where(e => e.End > offset && e.Offset < offset + length)
                .Select(e => new Extent(Math.Max(e.Offset, offset), Math.Min(e.End, offset + length) - Math.Max(e.Offset, offset), e.Kind))
                .ToList();

        public void Dispose() { }
    }
}
