using System.Buffers.Binary;
using System.Text;

namespace DiskImage.IO.Nfs;

/// <summary>
/// Reads an XDR encoding (RFC 4506) from a reply held in memory. Every read is checked against what is left and
/// every variable length against the bound the caller gives, so a hostile peer gets <see cref="NfsProtocolException"/>
/// and nothing else.
/// </summary>
internal sealed class XdrReader(ReadOnlyMemory<byte> data)
{
    private int _position;

    /// <summary>Bytes not yet read.</summary>
    public int Remaining => data.Length - _position;

    public uint UInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public ulong UInt64() => BinaryPrimitives.ReadUInt64BigEndian(Take(8));

    /// <summary>An XDR bool: 0 or 1, anything else refused.</summary>
    public bool Bool() => UInt32() switch
    {
        0 => false,
        1 => true,
        var v => throw Garbage($"bad boolean {v}"),
    };

    /// <summary>Variable-length opaque data of at most <paramref name="maxLength"/> bytes.</summary>
    public ReadOnlyMemory<byte> Opaque(int maxLength)
    {
        var length = UInt32();
        if (length > (uint)maxLength)
        {
            throw Garbage($"opaque length {length} exceeds {maxLength}");
        }

        return FixedOpaque((int)length);
    }

    /// <summary>Fixed-length opaque data and its padding.</summary>
    public ReadOnlyMemory<byte> FixedOpaque(int length)
    {
        var start = _position;
        Take(XdrWriter.Padded(length));
        return data.Slice(start, length);
    }

    /// <summary>A string of at most <paramref name="maxLength"/> bytes.</summary>
    public string String(int maxLength) => Encoding.UTF8.GetString(Opaque(maxLength).Span);

    /// <summary>Skips <paramref name="count"/> bytes (a structure whose fields are not needed).</summary>
    public void Skip(int count) => Take(count);

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
        {
            throw Garbage("reply ends early");
        }

        var span = data.Span.Slice(_position, count);
        _position += count;
        return span;
    }

    /// <summary>The one line a broken reply gets.</summary>
    public static NfsProtocolException Garbage(string what) => new($"Invalid/garbage pdu received from server: {what}");
}
