using System.Buffers.Binary;
using System.Text;

namespace DiskImage.Nbd;

/// <summary>Big-endian framing helpers shared by the server and the client.</summary>
internal static class NbdWire
{
    public static byte[] OptionReply(NbdOption option, NbdOptionReply type, ReadOnlySpan<byte> data)
    {
        var buffer = new byte[20 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(buffer, NbdConstants.OptionReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(8), (uint)option);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(12), (uint)type);
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(16), (uint)data.Length);
        data.CopyTo(buffer.AsSpan(20));
        return buffer;
    }

    public static void SimpleReply(Span<byte> header, NbdError error, ulong cookie)
    {
        BinaryPrimitives.WriteUInt32BigEndian(header, NbdConstants.SimpleReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)error);
        BinaryPrimitives.WriteUInt64BigEndian(header[8..], cookie);
    }

    public static void ChunkHeader(Span<byte> header, bool done, NbdReplyType type, ulong cookie, int length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(header, NbdConstants.StructuredReplyMagic);
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], done ? (ushort)1 : (ushort)0);
        BinaryPrimitives.WriteUInt16BigEndian(header[6..], (ushort)type);
        BinaryPrimitives.WriteUInt64BigEndian(header[8..], cookie);
        BinaryPrimitives.WriteUInt32BigEndian(header[16..], (uint)length);
    }

    /// <summary>A length-prefixed UTF-8 string (u32 length, bytes).</summary>
    public static byte[] String32(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var buffer = new byte[4 + bytes.Length];
        BinaryPrimitives.WriteUInt32BigEndian(buffer, (uint)bytes.Length);
        bytes.CopyTo(buffer, 4);
        return buffer;
    }

    /// <summary>Reads u32-length-prefixed bytes at <paramref name="position"/>; false when they do not fit in <paramref name="data"/>.</summary>
    public static bool TryReadBytes32(ReadOnlySpan<byte> data, ref int position, out byte[] bytes)
    {
        bytes = [];
        if (data.Length - position < 4)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(data[position..]);
        if (length > (uint)(data.Length - position - 4))
        {
            return false;
        }

        bytes = data.Slice(position + 4, (int)length).ToArray();
        position += 4 + (int)length;
        return true;
    }

    /// <summary>Reads a u32-length-prefixed string at <paramref name="position"/>; false when it does not fit in <paramref name="data"/>.</summary>
    public static bool TryReadString32(ReadOnlySpan<byte> data, ref int position, out string text)
    {
        text = "";
        if (data.Length - position < 4)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(data[position..]);
        if (length > (uint)(data.Length - position - 4))
        {
            return false;
        }

        text = Encoding.UTF8.GetString(data.Slice(position + 4, (int)length));
        position += 4 + (int)length;
        return true;
    }
}
