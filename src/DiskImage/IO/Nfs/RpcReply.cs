namespace DiskImage.IO.Nfs;

/// <summary>
/// Reads an ONC RPC reply's header (RFC 5531): the transaction id must be the call's, the message a REPLY, the call
/// accepted with SUCCESS; every other answer becomes one line naming what the server said. What is left in the
/// reader is the procedure's result.
/// </summary>
internal static class RpcReply
{
    private const uint Reply = 1;
    private const int MaxAuthBody = 400;

    /// <summary>The reader positioned at the results of the reply to call <paramref name="xid"/>.</summary>
    /// <exception cref="NfsProtocolException">The reply is malformed, for another call, or not a success.</exception>
    public static XdrReader Open(ReadOnlyMemory<byte> record, uint xid)
    {
        var reader = new XdrReader(record);
        var replyXid = reader.UInt32();
        if (replyXid != xid)
        {
            throw XdrReader.Garbage($"reply for call {replyXid}, expected {xid}");
        }

        if (reader.UInt32() != Reply)
        {
            throw XdrReader.Garbage("not a reply");
        }

        switch (reader.UInt32())
        {
            case 0:
                break;
            case 1:
                throw Denied(reader);
            case var stat:
                throw XdrReader.Garbage($"reply status {stat}");
        }

        reader.UInt32();
        reader.Opaque(MaxAuthBody);
        var acceptStat = reader.UInt32();
        return acceptStat switch
        {
            0 => reader,
            1 => throw new NfsProtocolException("RPC error: program unavailable"),
            2 => throw new NfsProtocolException($"RPC error: program version mismatch (server supports {reader.UInt32()} to {reader.UInt32()})"),
            3 => throw new NfsProtocolException("RPC error: procedure unavailable"),
            4 => throw new NfsProtocolException("RPC error: garbage arguments"),
            5 => throw new NfsProtocolException("RPC error: system error"),
            _ => throw XdrReader.Garbage($"accept status {acceptStat}"),
        };
    }

    private static NfsProtocolException Denied(XdrReader reader) => reader.UInt32() switch
    {
        0 => new NfsProtocolException($"RPC error: RPC version mismatch (server supports {reader.UInt32()} to {reader.UInt32()})"),
        1 => new NfsProtocolException($"RPC error: authentication failed ({reader.UInt32()})") { Errno = -13 },
        var why => XdrReader.Garbage($"rejection {why}"),
    };
}
