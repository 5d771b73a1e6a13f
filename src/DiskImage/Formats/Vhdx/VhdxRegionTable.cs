using System.Buffers.Binary;

namespace DiskImage.Formats.Vhdx;

/// <summary>The region table at 192 KiB: where the block allocation table and the metadata region lie.</summary>
internal sealed record VhdxRegionTable(long BatOffset, long BatLength, long MetadataOffset, long MetadataLength)
{
    public const long Offset = 192 * 1024;
    public const int Size = 64 * 1024;
    private const uint Signature = 0x69676572; // "regi"
    private const int MaxEntries = 2047;

    public static readonly Guid BatGuid = new("2DC27766-F623-4200-9D64-115E9BFD4A08");
    public static readonly Guid MetadataGuid = new("8B7CA206-4790-4B9A-B8FE-575F050F886E");

    public static VhdxRegionTable Read(IO.IStorage file)
    {
        var b = new byte[Size];
        file.Read(Offset, b);
        if (BinaryPrimitives.ReadUInt32LittleEndian(b) != Signature || !VhdxCrc32C.Verify(b, 4))
        {
            throw new InvalidImageException("Invalid argument", Offset);
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
        if (count > MaxEntries)
        {
            throw new InvalidImageException("Invalid argument", Offset);
        }

        long? batOffset = null, batLength = null, metaOffset = null, metaLength = null;
        var fileLength = file.Length;
        for (var i = 0; i < count; i++)
        {
            var e = b.AsSpan(16 + (i * 32), 32);
            var guid = new Guid(e[..16]);
            var offset = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(e[24..]);
            var required = (BinaryPrimitives.ReadUInt32LittleEndian(e[28..]) & 1) != 0;

            // Regions are 1 MiB aligned and inside the file; anything else is a damaged or crafted table.
            if (offset % (1 << 20) != 0 || length % (1 << 20) != 0 || offset > (ulong)fileLength || offset + length > (ulong)fileLength)
            {
                throw new InvalidImageException("Invalid argument", Offset);
            }

            if (guid == BatGuid && batOffset is null)
            {
                (batOffset, batLength) = ((long)offset, length);
            }
            else if (guid == MetadataGuid && metaOffset is null)
            {
                (metaOffset, metaLength) = ((long)offset, length);
            }
            else if (required || guid == BatGuid || guid == MetadataGuid)
            {
                // An unknown required region (or a duplicate) is something this reader cannot honour.
                throw new UnsupportedFeatureException("Operation not supported");
            }
        }

        if (batOffset is null || metaOffset is null)
        {
            throw new InvalidImageException("Invalid argument", Offset);
        }

        return new VhdxRegionTable(batOffset.Value, batLength!.Value, metaOffset.Value, metaLength!.Value);
    }
}
