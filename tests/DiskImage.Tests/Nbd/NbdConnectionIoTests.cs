using DiskImage.Nbd;

namespace DiskImage.Tests.Nbd;

/// <summary>
/// Reply batching on a scripted stream: replies collect while requests are at hand, go out in one write before
/// the next receive, and never wait behind a receive (a client that waits for its answers gets them).
/// </summary>
public class NbdConnectionIoTests
{
    [Fact]
    public void Replies_to_a_burst_go_out_in_one_write_before_the_next_receive()
    {
        // Two receives: the first delivers three 4-byte "requests" at once, the second one more.
        var stream = new ScriptedStream([[1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3], [4, 4, 4, 4]]);
        var io = new NbdConnectionIo(stream);
        var request = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            io.ReadExactly(request);
            io.Write([(byte)(0x10 + request[0])]);
        }

        io.Flush();

        // The first burst's three replies were written together, and before the second receive.
        Assert.Equal(["read", "write 11 12 13", "read", "write 14"], stream.Log);
    }

    [Fact]
    public void A_full_batch_is_sent_and_large_data_goes_out_after_what_was_collected()
    {
        var stream = new ScriptedStream([]);
        var io = new NbdConnectionIo(stream);
        var small = new byte[NbdConnectionIo.OutputSize - 10];
        small[0] = 7;
        io.Write(small);
        io.Write(new byte[] { 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8 }); // does not fit: the batch goes first
        var large = new byte[64 << 10];
        large[0] = 9;
        io.Write(large);
        io.Flush();

        Assert.Equal(3, stream.Writes.Count);
        Assert.Equal(small.Length, stream.Writes[0].Length);
        Assert.Equal(7, stream.Writes[0][0]);
        Assert.Equal(12, stream.Writes[1].Length);
        Assert.Equal(large.Length, stream.Writes[2].Length);
        Assert.Equal(9, stream.Writes[2][0]);
    }

    [Fact]
    public void A_request_cut_short_by_the_client_hanging_up_is_end_of_stream()
    {
        var io = new NbdConnectionIo(new ScriptedStream([[1, 2]]));
        Assert.Throws<EndOfStreamException>(() => io.ReadExactly(new byte[4]));
    }

    /// <summary>Gives each scripted chunk to one Read (then end of stream) and records reads and writes in order.</summary>
    private sealed class ScriptedStream(byte[][] chunks) : Stream
    {
        private int _next;

        public List<string> Log { get; } = [];

        public List<byte[]> Writes { get; } = [];

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_next == chunks.Length)
            {
                return 0;
            }

            Log.Add("read");
            var chunk = chunks[_next++];
            Assert.True(chunk.Length <= buffer.Length);
            chunk.CopyTo(buffer);
            return chunk.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Writes.Add(buffer.ToArray());
            Log.Add("write " + string.Join(' ', buffer.ToArray().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))));
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
