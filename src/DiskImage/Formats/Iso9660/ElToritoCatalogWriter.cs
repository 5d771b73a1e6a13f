using System.Buffers.Binary;

namespace DiskImage.Formats.Iso9660;

/// <summary>Writes the boot record volume descriptor and the boot catalog sector.</summary>
internal static class ElToritoCatalogWriter
{
    public static void WriteBootRecord(Span<byte> sector, uint catalogBlock)
    {
        sector.Clear();
        sector[0] = (byte)VolumeDescriptorType.BootRecord;
        IsoConstants.StandardIdentifier.CopyTo(sector[1..]);
        sector[6] = 1;
        ElToritoCatalog.BootSystemId.CopyTo(sector[7..]);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[ElToritoCatalog.CatalogPointerOffset..], catalogBlock);
    }

    /// <summary>Validation entry and default entry for the first image; a section (header + entry) for each further one.</summary>
    public static void WriteCatalog(Span<byte> sector, IReadOnlyList<(IsoBootImage Image, IsoBuildNode Node)> images)
    {
        sector.Clear();
        var validation = sector[..ElToritoCatalog.EntrySize];
        validation[0] = 1;
        validation[1] = images[0].Image.Platform;
        validation[30] = 0x55;
        validation[31] = 0xAA;
        var sum = ElToritoCatalog.Checksum(validation);
        BinaryPrimitives.WriteUInt16LittleEndian(validation[28..], (ushort)(0x10000 - sum));

        WriteEntry(sector.Slice(ElToritoCatalog.EntrySize, ElToritoCatalog.EntrySize), images[0]);
        var position = 2 * ElToritoCatalog.EntrySize;
        for (var i = 1; i < images.Count; i++)
        {
            var header = sector.Slice(position, ElToritoCatalog.EntrySize);
            header[0] = (byte)(i == images.Count - 1 ? 0x91 : 0x90);
            header[1] = images[i].Image.Platform;
            BinaryPrimitives.WriteUInt16LittleEndian(header[2..], 1);
            WriteEntry(sector.Slice(position + ElToritoCatalog.EntrySize, ElToritoCatalog.EntrySize), images[i]);
            position += 2 * ElToritoCatalog.EntrySize;
        }
    }

    public static ushort LoadSize(IsoBootImage image, long fileSize) =>
        image.LoadSize ?? (ushort)Math.Min(ushort.MaxValue, (fileSize + 511) / 512);

    private static void WriteEntry(Span<byte> entry, (IsoBootImage Image, IsoBuildNode Node) boot)
    {
        entry[0] = 0x88;
        entry[1] = (byte)ElToritoEmulation.NoEmulation;
        BinaryPrimitives.WriteUInt16LittleEndian(entry[6..], LoadSize(boot.Image, boot.Node.Size));
        BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], boot.Node.DataBlock);
    }
}
