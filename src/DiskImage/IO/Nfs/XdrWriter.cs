using System.Buffers.Binary;
using System.Text;

namespace DiskImage.IO.Nfs;

/// <summary>Builds an XDR encoding (RFC 4506): big-endian 4-byte units, opaque data padded to a multiple of four.</summary>
internal sealed class XdrWriter
{
    private byte[] _buffer = new byte[256];

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    /// <summary>How many bytes have been written.</summary>
    public int Length { get; private set; }

    public XdrWriter UInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(Grow(4), value);
        return this;
    }

    public XdrWriter UInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(Grow(8), value);
        return this;
    }

    public XdrWriter Bool(bool value) => UInt32(value ? 1u : 0u);

    /// <summary>Variable-length opaque data: its length, the bytes, zero padding to four.</summary>
    public XdrWriter Opaque(ReadOnlySpan<byte> data)
    {
        UInt32((uint)data.Length);
        return FixedOpaque(data);
    }

    /// <summary>Fixed-length opaque data (the length is known to both sides): the bytes and zero padding to four.</summary>
    public XdrWriter FixedOpaque(ReadOnlySpan<byte> data)
    {
        var span = Grow(Padded(data.Length));
        data.CopyTo(span);
        span[data.Length..].Clear();
        return this;
    }

    /// <summary>A string as opaque UTF-8 bytes.</summary>
    public XdrWriter String(string text) => Opaque(Encoding.UTF8.GetBytes(text));

    /// <summary>The length of <paramref name="length"/> bytes rounded up to whole 4-byte units.</summary>
    public static int Padded(int length) => (length + 3) & ~3;

    private Span<byte> Grow(int count)
    {
        if (Length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + count));
        }

        var span = _buffer.AsSpan(Length, count);
        Length += count;
        return span;
    }
}
