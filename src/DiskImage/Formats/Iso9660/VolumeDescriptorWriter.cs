using System.Buffers.Binary;
using System.Text;

namespace DiskImage.Formats.Iso9660;

/// <summary>Writes primary and Joliet supplementary volume descriptors and the terminator.</summary>
internal static class VolumeDescriptorWriter
{
    public static void WritePrimary(Span<byte> sector, IsoLayout layout, DateTimeOffset created)
    {
        WriteCommon(sector, layout, created, joliet: false);
    }

    public static void WriteJoliet(Span<byte> sector, IsoLayout layout, DateTimeOffset created)
    {
        WriteCommon(sector, layout, created, joliet: true);
    }

    public static void WriteTerminator(Span<byte> sector)
    {
        sector.Clear();
        sector[0] = (byte)VolumeDescriptorType.Terminator;
        IsoConstants.StandardIdentifier.CopyTo(sector[1..]);
        sector[6] = 1;
    }

    private static void WriteCommon(Span<byte> sector, IsoLayout layout, DateTimeOffset created, bool joliet)
    {
        sector.Clear();
        sector[VolumeDescriptor.Field.Type] = (byte)(joliet ? VolumeDescriptorType.Supplementary : VolumeDescriptorType.Primary);
        IsoConstants.StandardIdentifier.CopyTo(sector[VolumeDescriptor.Field.Identifier..]);
        sector[VolumeDescriptor.Field.Version] = 1;
        var options = layout.Options;
        Text(sector.Slice(VolumeDescriptor.Field.SystemId, 32), options.SystemId, joliet);
        Text(sector.Slice(VolumeDescriptor.Field.VolumeId, 32), options.VolumeId, joliet);
        BothEndian.WriteUInt32(sector[VolumeDescriptor.Field.VolumeSpaceSize..], layout.TotalBlocks);
        if (joliet)
        {
            "%/E"u8.CopyTo(sector[VolumeDescriptor.Field.EscapeSequences..]);
        }

        BothEndian.WriteUInt16(sector[VolumeDescriptor.Field.VolumeSetSize..], 1);
        BothEndian.WriteUInt16(sector[VolumeDescriptor.Field.VolumeSequenceNumber..], 1);
        BothEndian.WriteUInt16(sector[VolumeDescriptor.Field.LogicalBlockSize..], IsoConstants.SectorSize);
        BothEndian.WriteUInt32(sector[VolumeDescriptor.Field.PathTableSize..], joliet ? layout.JolietPathTableSize : layout.IsoPathTableSize);
        BinaryPrimitives.WriteUInt32LittleEndian(sector[VolumeDescriptor.Field.TypeLPathTable..], joliet ? layout.JolietPathTableL : layout.IsoPathTableL);
        BinaryPrimitives.WriteUInt32BigEndian(sector[VolumeDescriptor.Field.TypeMPathTable..], joliet ? layout.JolietPathTableM : layout.IsoPathTableM);
        var root = layout.Root;
        new IsoRecordSpec([0], joliet ? root.JolietDirectoryBlock : root.DirectoryBlock, joliet ? root.JolietDirectorySize : root.DirectorySize,
            DirectoryRecord.FlagDirectory, root.ModificationTime, null).Write(sector[VolumeDescriptor.Field.RootDirectoryRecord..]);
        Text(sector.Slice(VolumeDescriptor.Field.VolumeSetId, 128), "", joliet);
        Text(sector.Slice(VolumeDescriptor.Field.PublisherId, 128), options.PublisherId, joliet);
        Text(sector.Slice(VolumeDescriptor.Field.DataPreparerId, 128), options.DataPreparerId, joliet);
        Text(sector.Slice(VolumeDescriptor.Field.ApplicationId, 128), options.ApplicationId, joliet);
        Text(sector.Slice(VolumeDescriptor.Field.CopyrightFileId, 37), "", joliet);
        Text(sector.Slice(VolumeDescriptor.Field.AbstractFileId, 37), "", joliet);
        Text(sector.Slice(VolumeDescriptor.Field.BibliographicFileId, 37), "", joliet);
        IsoDates.WriteLong(sector[VolumeDescriptor.Field.CreationDate..], created);
        IsoDates.WriteLong(sector[VolumeDescriptor.Field.ModificationDate..], created);
        IsoDates.WriteLong(sector[VolumeDescriptor.Field.ExpirationDate..], null);
        IsoDates.WriteLong(sector[VolumeDescriptor.Field.EffectiveDate..], created);
        sector[VolumeDescriptor.Field.FileStructureVersion] = 1;
    }

    /// <summary>Space-padded text: ASCII (non-ASCII becomes '_') or UCS-2 big-endian for Joliet.</summary>
    private static void Text(Span<byte> field, string text, bool joliet)
    {
        if (joliet)
        {
            for (var i = 0; i + 1 < field.Length; i += 2)
            {
                field[i] = 0;
                field[i + 1] = (byte)' ';
            }

            if ((field.Length & 1) != 0)
            {
                field[^1] = 0;
            }

            var bytes = Encoding.BigEndianUnicode.GetBytes(text);
            bytes.AsSpan(0, Math.Min(bytes.Length, field.Length & ~1)).CopyTo(field);
            return;
        }

        field.Fill((byte)' ');
        for (var i = 0; i < text.Length && i < field.Length; i++)
        {
            field[i] = text[i] is > ' ' and < '\x7f' or ' ' ? (byte)text[i] : (byte)'_';
        }
    }
}
