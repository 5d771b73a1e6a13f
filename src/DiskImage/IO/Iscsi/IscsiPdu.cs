using System.Buffers.Binary;

namespace DiskImage.IO.Iscsi;

/// <summary>
/// One iSCSI PDU: the 48-byte Basic Header Segment and its data segment (additional header segments are read and
/// dropped: nothing the initiator asks for carries one). Field accessors read and write the header's big-endian fields.
/// </summary>
internal sealed class IscsiPdu
{
    public const int HeaderSize = 48;

    public IscsiPdu(IscsiOpcode opcode, bool immediate = false)
    {
        Header[0] = (byte)((byte)opcode | (immediate ? 0x40 : 0));
    }

    private IscsiPdu(byte[] header, byte[] data)
    {
        Header = header;
        Data = data;
    }

    public byte[] Header { get; } = new byte[HeaderSize];

    public byte[] Data { get; set; } = [];

    public IscsiOpcode Opcode => (IscsiOpcode)(Header[0] & 0x3f);

    /// <summary>The second byte: the final bit and the opcode's own flags.</summary>
    public byte Flags
    {
        get => Header[1];
        set => Header[1] = value;
    }

    public bool Final => (Header[1] & 0x80) != 0;

    public uint InitiatorTaskTag
    {
        get => UInt32(16);
        set => SetUInt32(16, value);
    }

    public uint UInt32(int offset) => BinaryPrimitives.ReadUInt32BigEndian(Header.AsSpan(offset));

    public void SetUInt32(int offset, uint value) => BinaryPrimitives.WriteUInt32BigEndian(Header.AsSpan(offset), value);

    /// <summary>The 24-bit data segment length the header declares.</summary>
    public static int DataSegmentLength(ReadOnlySpan<byte> header) => (header[5] << 16) | (header[6] << 8) | header[7];

    /// <summary>The PDU as sent: header (its data length filled in), an optional header digest, and the data padded to four bytes.</summary>
    public byte[] Encode(bool headerDigest)
    {
        if (Data.Length > 0xffffff)
        {
            throw new ArgumentOutOfRangeException(nameof(Data), "A data segment holds at most 16 MiB");
        }

        Header[4] = 0;
        Header[5] = (byte)(Data.Length >> 16);
        Header[6] = (byte)(Data.Length >> 8);
        Header[7] = (byte)Data.Length;
        var digest = headerDigest ? 4 : 0;
        var result = new byte[HeaderSize + digest + Padded(Data.Length)];
        Header.CopyTo(result, 0);
        if (headerDigest)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(HeaderSize), Crc32c.Compute(Header));
        }

        Data.CopyTo(result, HeaderSize + digest);
        return result;
    }

    /// <summary>
    /// Reads one PDU. The data segment may not exceed <paramref name="maxData"/> (what the initiator declared it
    /// receives); a header digest, when negotiated, must match.
    /// </summary>
    /// <exception cref="IscsiProtocolException">The peer broke the framing.</exception>
    public static IscsiPdu Read(Stream stream, bool headerDigest, int maxData)
    {
        var header = new byte[HeaderSize];
        stream.ReadExactly(header);
        var ahs = header[4] * 4;
        var length = DataSegmentLength(header);
        if (length > maxData)
        {
            throw new IscsiProtocolException($"Target sent a data segment of {length} bytes (at most {maxData} were negotiated)");
        }

        if (ahs > 0)
        {
            var skipped = new byte[ahs];
            stream.ReadExactly(skipped);
            if (headerDigest)
            {
                throw new IscsiProtocolException("Target sent an additional header segment");
            }
        }

        if (headerDigest)
        {
            var digest = new byte[4];
            stream.ReadExactly(digest);
            if (BinaryPrimitives.ReadUInt32LittleEndian(digest) != Crc32c.Compute(header))
            {
                throw new IscsiProtocolException("Header digest mismatch");
            }
        }

        var padded = new byte[Padded(length)];
        stream.ReadExactly(padded);
        return new IscsiPdu(header, length == padded.Length ? padded : padded[..length]);
    }

    /// <summary>Decodes a PDU held whole in <paramref name="bytes"/> (no digests); null when it is cut short or declares more than <paramref name="maxData"/>.</summary>
    public static IscsiPdu? Decode(ReadOnlySpan<byte> bytes, int maxData)
    {
        if (bytes.Length < HeaderSize)
        {
            return null;
        }

        var ahs = bytes[4] * 4;
        var length = DataSegmentLength(bytes);
        if (length > maxData || bytes.Length < HeaderSize + ahs + Padded(length))
        {
            return null;
        }

        return new IscsiPdu(bytes[..HeaderSize].ToArray(), bytes.Slice(HeaderSize + ahs, length).ToArray());
    }

    private static int Padded(int length) => (length + 3) & ~3;
}
