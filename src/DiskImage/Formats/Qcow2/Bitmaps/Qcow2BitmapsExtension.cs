using System.Buffers.Binary;

namespace DiskImage.Formats.Qcow2.Bitmaps;

/// <summary>The bitmaps header extension: how many bitmaps and where their directory is (validated by the header reader).</summary>
internal sealed record Qcow2BitmapsExtension(uint Count, long DirectorySize, long DirectoryOffset)
{
    /// <summary>
    /// The extension QEMU would use: none when the autoclear bit is clear, since a writer that did not
    /// know bitmaps has touched the image since they were stored.
    /// </summary>
    public static Qcow2BitmapsExtension? From(Qcow2Header header)
    {
        if ((header.AutoclearFeatures & Qcow2Constants.AutoclearBitmaps) == 0
            || header.FindExtension(Qcow2Constants.ExtensionBitmaps) is not { Data.Length: Qcow2BitmapLimits.ExtensionLength } extension)
        {
            return null;
        }

        var data = extension.Data.AsSpan();
        return new Qcow2BitmapsExtension(
            BinaryPrimitives.ReadUInt32BigEndian(data),
            (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(data[8..]), long.MaxValue),
            (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(data[16..]), long.MaxValue));
    }

    public byte[] Serialize()
    {
        var data = new byte[Qcow2BitmapLimits.ExtensionLength];
        BinaryPrimitives.WriteUInt32BigEndian(data, Count);
        BinaryPrimitives.WriteInt64BigEndian(data.AsSpan(8), DirectorySize);
        BinaryPrimitives.WriteInt64BigEndian(data.AsSpan(16), DirectoryOffset);
        return data;
    }
}
