using System.Buffers.Binary;
using System.Text;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// A primary, supplementary (Joliet) or enhanced (ISO 9660:1999) volume descriptor: identifiers,
/// dates, sizes, path tables and the root directory record.
/// </summary>
internal sealed record VolumeDescriptor
{
    /// <summary>Byte offsets inside a primary or supplementary volume descriptor (ECMA-119 8.4, 8.5).</summary>
    internal static class Field
    {
        public const int Type = 0;
        public const int Identifier = 1;
        public const int Version = 6;
        public const int Flags = 7;
        public const int SystemId = 8;
        public const int VolumeId = 40;
        public const int VolumeSpaceSize = 80;
        public const int EscapeSequences = 88;
        public const int VolumeSetSize = 120;
        public const int VolumeSequenceNumber = 124;
        public const int LogicalBlockSize = 128;
        public const int PathTableSize = 132;
        public const int TypeLPathTable = 140;
        public const int OptionalTypeLPathTable = 144;
        public const int TypeMPathTable = 148;
        public const int OptionalTypeMPathTable = 152;
        public const int RootDirectoryRecord = 156;
        public const int VolumeSetId = 190;
        public const int PublisherId = 318;
        public const int DataPreparerId = 446;
        public const int ApplicationId = 574;
        public const int CopyrightFileId = 702;
        public const int AbstractFileId = 739;
        public const int BibliographicFileId = 776;
        public const int CreationDate = 813;
        public const int ModificationDate = 830;
        public const int ExpirationDate = 847;
        public const int EffectiveDate = 864;
        public const int FileStructureVersion = 881;
        public const int ApplicationUse = 883;
    }

    public const int RootRecordLength = 34;

    public required VolumeDescriptorType Type { get; init; }
    public required byte Version { get; init; }

    /// <summary>Joliet level 1-3 for a supplementary descriptor with a UCS-2 escape sequence, else 0.</summary>
    public required int JolietLevel { get; init; }

    public required string SystemId { get; init; }
    public required string VolumeId { get; init; }
    public required string VolumeSetId { get; init; }
    public required string PublisherId { get; init; }
    public required string DataPreparerId { get; init; }
    public required string ApplicationId { get; init; }
    public required uint VolumeSpaceSize { get; init; }
    public required ushort LogicalBlockSize { get; init; }
    public required uint PathTableSize { get; init; }
    public required uint TypeLPathTable { get; init; }
    public required uint TypeMPathTable { get; init; }
    public required DateTimeOffset? CreationDate { get; init; }
    public required DateTimeOffset? ModificationDate { get; init; }
    public required DirectoryRecord Root { get; init; }
    public required long FileOffset { get; init; }

    public bool IsJoliet => JolietLevel > 0;

    /// <summary>ISO 9660:1999 enhanced volume descriptor: supplementary, version 2, file structure version 2.</summary>
    public bool IsEnhanced => Type == VolumeDescriptorType.Supplementary && Version == 2;

    public static VolumeDescriptor Parse(ReadOnlySpan<byte> sector, long fileOffset)
    {
        var type = (VolumeDescriptorType)sector[Field.Type];
        var jolietLevel = type == VolumeDescriptorType.Supplementary ? JolietLevelOf(sector.Slice(Field.EscapeSequences, 32)) : 0;
        var blockSize = BothEndian.ReadUInt16(sector[Field.LogicalBlockSize..], "logical block size", fileOffset + Field.LogicalBlockSize);
        if (blockSize != IsoConstants.SectorSize)
        {
            throw new InvalidImageException($"ISO 9660 logical block size {blockSize} is not supported (only {IsoConstants.SectorSize})", fileOffset + Field.LogicalBlockSize);
        }

        BothEndian.ReadUInt16(sector[Field.VolumeSetSize..], "volume set size", fileOffset + Field.VolumeSetSize);
        BothEndian.ReadUInt16(sector[Field.VolumeSequenceNumber..], "volume sequence number", fileOffset + Field.VolumeSequenceNumber);
        var rootOffset = fileOffset + Field.RootDirectoryRecord;
        var rootSpan = sector.Slice(Field.RootDirectoryRecord, RootRecordLength);
        if (rootSpan[0] != RootRecordLength)
        {
            throw new InvalidImageException($"ISO 9660 root directory record has length {rootSpan[0]}, expected {RootRecordLength}", rootOffset);
        }

        var root = DirectoryRecord.Parse(rootSpan, rootOffset);
        if (!root.IsDirectory)
        {
            throw new InvalidImageException("ISO 9660 root directory record is not marked as a directory", rootOffset);
        }

        return new VolumeDescriptor
        {
            Type = type,
            Version = sector[Field.Version],
            JolietLevel = jolietLevel,
            SystemId = Text(sector.Slice(Field.SystemId, 32), jolietLevel),
            VolumeId = Text(sector.Slice(Field.VolumeId, 32), jolietLevel),
            VolumeSetId = Text(sector.Slice(Field.VolumeSetId, 128), jolietLevel),
            PublisherId = Text(sector.Slice(Field.PublisherId, 128), jolietLevel),
            DataPreparerId = Text(sector.Slice(Field.DataPreparerId, 128), jolietLevel),
            ApplicationId = Text(sector.Slice(Field.ApplicationId, 128), jolietLevel),
            VolumeSpaceSize = BothEndian.ReadUInt32(sector[Field.VolumeSpaceSize..], "volume space size", fileOffset + Field.VolumeSpaceSize),
            LogicalBlockSize = blockSize,
            PathTableSize = BothEndian.ReadUInt32(sector[Field.PathTableSize..], "path table size", fileOffset + Field.PathTableSize),
            TypeLPathTable = BinaryPrimitives.ReadUInt32LittleEndian(sector[Field.TypeLPathTable..]),
            TypeMPathTable = BinaryPrimitives.ReadUInt32BigEndian(sector[Field.TypeMPathTable..]),
            CreationDate = IsoDates.ReadLong(sector[Field.CreationDate..]),
            ModificationDate = IsoDates.ReadLong(sector[Field.ModificationDate..]),
            Root = root,
            FileOffset = fileOffset,
        };
    }

    private static string Text(ReadOnlySpan<byte> field, int jolietLevel) => jolietLevel > 0 ? Ucs2(field) : Ascii(field);

    /// <summary>Joliet escape sequences: %/@ (level 1), %/C (level 2), %/E (level 3).</summary>
    internal static int JolietLevelOf(ReadOnlySpan<byte> escapes)
    {
        for (var i = 0; i + 2 < escapes.Length; i++)
        {
            if (escapes[i] == '%' && escapes[i + 1] == '/')
            {
                switch (escapes[i + 2])
                {
                    case (byte)'@': return 1;
                    case (byte)'C': return 2;
                    case (byte)'E': return 3;
                }
            }
        }

        return 0;
    }

    internal static string Ascii(ReadOnlySpan<byte> field)
    {
        var text = Encoding.Latin1.GetString(field);
        return IsoNames.Sanitize(text.TrimEnd(' ', '\0'));
    }

    internal static string Ucs2(ReadOnlySpan<byte> field)
    {
        var even = field[..(field.Length & ~1)];
        var text = Encoding.BigEndianUnicode.GetString(even);
        return IsoNames.Sanitize(text.TrimEnd(' ', '\0'));
    }
}
