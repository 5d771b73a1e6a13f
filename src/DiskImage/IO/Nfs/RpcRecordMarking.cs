using System.Buffers.Binary;

namespace DiskImage.IO.Nfs;

/// <summary>
/// ONC RPC record marking over a byte stream (RFC 5531 section 11): a record is a run of fragments, each behind a
/// 4-byte header holding its length and, in the top bit, whether it is the last. A record longer than the caller's
/// bound is refused before any of it is held in memory.
/// </summary>
internal static class RpcRecordMarking
{
    private const uint LastFragment = 0x8000_0000;

    /// <summary>Writes <paramref name="record"/> as one last fragment.</summary>
    public static void Write(Stream stream, ReadOnlySpan<byte> record)
    {
        var framed = new byte[4 + record.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed, LastFragment | (uint)record.Length);
        record.CopyTo(framed.AsSpan(4));
        stream.Write(framed);
        stream.Flush();
    }

    /// <summary>Reads one whole record of at most <paramref name="maxLength"/> bytes.</summary>
    /// <exception cref="NfsProtocolException">The peer closed the connection or sent a record over the bound.</exception>
    public static byte[] Read(Stream stream, int maxLength)
    {
        var record = new MemoryStream();
        Span<byte> header = stackalloc byte[4];
        while (true)
        {
            ReadExactly(stream, header);
            var word = BinaryPrimitives.ReadUInt32BigEndian(header);
            var length = word & ~LastFragment;
            if (length > (uint)(maxLength - record.Length))
            {
                throw XdrReader.Garbage($"record of more than {maxLength} bytes");
            }

            var fragment = new byte[length];
            ReadExactly(stream, fragment);
            record.Write(fragment);
            if ((word & LastFragment) != 0)
            {
                return record.ToArray();
            }
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = stream.Read(buffer[done..]);
            if (n == 0)
            {
                throw new NfsProtocolException("Socket closed");
            }

            done += n;
        }
    }
}
