using System.Buffers.Binary;
using System.Text;

namespace DiskImage.IO.Ssh;

/// <summary>Reads the SSH wire encoding (RFC 4251): big-endian uint32 and length-prefixed strings, each bounded by what is left.</summary>
internal struct WireReader(ReadOnlyMemory<byte> data)
{
    private ReadOnlyMemory<byte> _rest = data;

    /// <summary>Bytes not yet read.</summary>
    public readonly int Remaining => _rest.Length;

    /// <summary>A uint32, or 0 when fewer than four bytes are left (and then nothing is left).</summary>
    public uint UInt32()
    {
        if (_rest.Length < 4)
        {
            _rest = default;
            return 0;
        }

        var value = BinaryPrimitives.ReadUInt32BigEndian(_rest.Span);
        _rest = _rest[4..];
        return value;
    }

    /// <summary>A string's bytes, or null when its length runs past the data.</summary>
    public byte[]? Bytes()
    {
        if (_rest.Length < 4)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(_rest.Span);
        if (length > (uint)(_rest.Length - 4))
        {
            _rest = default;
            return null;
        }

        var value = _rest.Slice(4, (int)length).ToArray();
        _rest = _rest[(4 + (int)length)..];
        return value;
    }

    /// <summary>A string as ASCII text (key type names), or null.</summary>
    public string? Text() => Bytes() is { } bytes ? Encoding.ASCII.GetString(bytes) : null;

    /// <summary>Writes <paramref name="value"/> as a string at <paramref name="at"/>; returns the offset after it.</summary>
    public static int PutBytes(Span<byte> target, int at, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(target[at..], (uint)value.Length);
        value.CopyTo(target[(at + 4)..]);
        return at + 4 + value.Length;
    }
}
