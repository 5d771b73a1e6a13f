using System.Buffers.Binary;
using DiskImage.IO.Nfs;

namespace DiskImage.Tests.IO.Nfs;

/// <summary>
/// The NFS client's wire layers without a server: XDR (RFC 4506) round trips and bounds, ONC RPC record marking
/// (fragments joined, oversized records and early ends refused), and the reply header (RFC 5531) in each of its answers.
/// </summary>
public sealed class XdrAndRecordTests
{
    [Fact]
    public void Xdr_values_round_trip_with_padding_to_four_bytes()
    {
        var random = new Random(1813);
        for (var i = 0; i < 200; i++)
        {
            var u32 = (uint)random.NextInt64(0, 1L << 32);
            var u64 = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40);
            var opaque = new byte[random.Next(0, 70)];
            random.NextBytes(opaque);
            var text = new string('x', random.Next(0, 9));
            var writer = new XdrWriter().UInt32(u32).UInt64(u64).Opaque(opaque).String(text).Bool(i % 2 == 0);
            Assert.Equal(0, writer.Length % 4);
            Assert.Equal(4 + 8 + 4 + XdrWriter.Padded(opaque.Length) + 4 + XdrWriter.Padded(text.Length) + 4, writer.Length);

            var reader = new XdrReader(writer.Written.ToArray());
            Assert.Equal(u32, reader.UInt32());
            Assert.Equal(u64, reader.UInt64());
            Assert.Equal(opaque, reader.Opaque(64 + 6).ToArray());
            Assert.Equal(text, reader.String(255));
            Assert.Equal(i % 2 == 0, reader.Bool());
            Assert.Equal(0, reader.Remaining);
        }
    }

    [Theory]
    [InlineData(65u, 64, 100)]
    [InlineData(0xffffffffu, 1 << 20, 100)]
    [InlineData(8u, 64, 7)]
    public void An_opaque_over_its_bound_or_past_the_end_is_refused(uint length, int bound, int available)
    {
        var bytes = new byte[4 + available];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, length);
        var e = Assert.Throws<NfsProtocolException>(() => new XdrReader(bytes).Opaque(bound));
        Assert.StartsWith("Invalid/garbage pdu received from server", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_boolean_other_than_zero_or_one_is_refused() =>
        Assert.Throws<NfsProtocolException>(() => new XdrReader(new byte[] { 0, 0, 0, 2 }).Bool());

    [Fact]
    public void Fragments_are_joined_into_one_record()
    {
        var stream = new MemoryStream();
        stream.Write(Fragment([1, 2, 3], last: false));
        stream.Write(Fragment([], last: false));
        stream.Write(Fragment([4, 5], last: true));
        stream.Position = 0;
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, RpcRecordMarking.Read(stream, 16));
    }

    [Fact]
    public void A_written_record_reads_back_as_one_last_fragment()
    {
        var stream = new MemoryStream();
        RpcRecordMarking.Write(stream, [9, 8, 7]);
        Assert.Equal(new byte[] { 0x80, 0, 0, 3, 9, 8, 7 }, stream.ToArray());
        stream.Position = 0;
        Assert.Equal(new byte[] { 9, 8, 7 }, RpcRecordMarking.Read(stream, 3));
    }

    [Fact]
    public void A_record_over_the_bound_is_refused_before_it_is_read()
    {
        // A header announcing 2 GiB, with nothing behind it: refused at once, nothing allocated.
        var huge = new MemoryStream([0xff, 0xff, 0xff, 0xff]);
        Assert.Throws<NfsProtocolException>(() => RpcRecordMarking.Read(huge, 1 << 20));

        // Many small fragments adding up past the bound.
        var stream = new MemoryStream();
        for (var i = 0; i < 10; i++)
        {
            stream.Write(Fragment(new byte[4], last: false));
        }

        stream.Position = 0;
        Assert.Throws<NfsProtocolException>(() => RpcRecordMarking.Read(stream, 32));
    }

    [Fact]
    public void A_connection_closed_inside_a_record_is_one_clean_error()
    {
        var stream = new MemoryStream([.. Fragment([1, 2, 3, 4], last: true)[..6]]);
        Assert.Equal("Socket closed", Assert.Throws<NfsProtocolException>(() => RpcRecordMarking.Read(stream, 64)).Message);
    }

    [Fact]
    public void A_successful_reply_leaves_the_results_to_read()
    {
        var reply = new XdrWriter().UInt32(7).UInt32(1).UInt32(0).UInt32(0).Opaque([]).UInt32(0).UInt32(0xabcdef);
        Assert.Equal(0xabcdefu, RpcReply.Open(reply.Written.ToArray(), 7).UInt32());
    }

    [Theory]
    [InlineData(8u, 1u, 0u, 0u, "reply for call 8, expected 7")]
    [InlineData(7u, 0u, 0u, 0u, "not a reply")]
    [InlineData(7u, 1u, 0u, 1u, "RPC error: program unavailable")]
    [InlineData(7u, 1u, 0u, 3u, "RPC error: procedure unavailable")]
    [InlineData(7u, 1u, 0u, 4u, "RPC error: garbage arguments")]
    [InlineData(7u, 1u, 0u, 9u, "accept status 9")]
    [InlineData(7u, 1u, 1u, 1u, "RPC error: authentication failed")]
    public void Other_replies_become_one_line(uint xid, uint type, uint replyStat, uint detail, string expected)
    {
        var writer = new XdrWriter().UInt32(xid).UInt32(type).UInt32(replyStat);
        if (replyStat == 0)
        {
            writer.UInt32(0).Opaque([]).UInt32(detail);
        }
        else
        {
            writer.UInt32(detail).UInt32(1);
        }

        var e = Assert.Throws<NfsProtocolException>(() => RpcReply.Open(writer.Written.ToArray(), 7));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_call_carries_auth_sys_with_the_uid_and_gid()
    {
        var call = RpcCall.Begin(5, 100003, 3, 1, new RpcCredentials(1000, 100, "host")).Written.ToArray();
        var reader = new XdrReader(call);
        Assert.Equal([5u, 0u, 2u, 100003u, 3u, 1u, 1u], Enumerable.Range(0, 7).Select(_ => reader.UInt32()));
        var body = new XdrReader(reader.Opaque(400).ToArray());
        body.UInt32();
        Assert.Equal("host", body.String(255));
        Assert.Equal(1000u, body.UInt32());
        Assert.Equal(100u, body.UInt32());
        Assert.Equal(0u, body.UInt32());
        Assert.Equal(0u, reader.UInt32());
        Assert.Equal(0, reader.Opaque(400).Length);
    }

    private static byte[] Fragment(byte[] data, bool last)
    {
        var bytes = new byte[4 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (last ? 0x8000_0000u : 0) | (uint)data.Length);
        data.CopyTo(bytes, 4);
        return bytes;
    }
}
