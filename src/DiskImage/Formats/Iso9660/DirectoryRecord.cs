namespace DiskImage.Formats.Iso9660;

/// <summary>One ECMA-119 directory record (9.1), as read from a directory extent.</summary>
internal sealed record DirectoryRecord
{
    /// <summary>Byte offsets inside a directory record.</summary>
    internal static class Field
    {
        public const int Length = 0;
        public const int ExtendedAttributeLength = 1;
        public const int ExtentLocation = 2;
        public const int DataLength = 10;
        public const int RecordingDate = 18;
        public const int Flags = 25;
        public const int FileUnitSize = 26;
        public const int InterleaveGap = 27;
        public const int VolumeSequence = 28;
        public const int NameLength = 32;
        public const int Name = 33;
    }

    public const byte FlagHidden = 0x01;
    public const byte FlagDirectory = 0x02;
    public const byte FlagMultiExtent = 0x80;

    /// <summary>Smallest legal record: the fixed part plus a one-byte name.</summary>
    public const int MinimumLength = 34;

    public required uint ExtentLocation { get; init; }
    public required uint DataLength { get; init; }
    public required byte ExtendedAttributeLength { get; init; }
    public required DateTimeOffset? RecordingDate { get; init; }
    public required byte Flags { get; init; }
    public required byte[] RawName { get; init; }
    public required byte[] SystemUse { get; init; }

    /// <summary>Host file offset of the record, for error messages and Rock Ridge continuation.</summary>
    public required long FileOffset { get; init; }

    public bool IsDirectory => (Flags & FlagDirectory) != 0;
    public bool IsMultiExtent => (Flags & FlagMultiExtent) != 0;

    /// <summary>The "." entry (name byte 0x00).</summary>
    public bool IsSelf => RawName.Length == 1 && RawName[0] == 0;

    /// <summary>The ".." entry (name byte 0x01).</summary>
    public bool IsParent => RawName.Length == 1 && RawName[0] == 1;

    /// <summary>Parses a record that starts at <paramref name="record"/>[0] and is entirely within it.</summary>
    public static DirectoryRecord Parse(ReadOnlySpan<byte> record, long fileOffset)
    {
        int length = record[Field.Length];
        if (length < MinimumLength || length > record.Length)
        {
            throw new InvalidImageException($"ISO 9660 directory record at offset {fileOffset} has invalid length {length}", fileOffset);
        }

        int nameLength = record[Field.NameLength];
        if (nameLength == 0 || Field.Name + nameLength > length)
        {
            throw new InvalidImageException($"ISO 9660 directory record at offset {fileOffset} has invalid name length {nameLength}", fileOffset);
        }

        var systemUseStart = Field.Name + nameLength + ((nameLength & 1) == 0 ? 1 : 0);
        var systemUse = systemUseStart < length ? record[systemUseStart..length].ToArray() : [];
        return new DirectoryRecord
        {
            ExtendedAttributeLength = record[Field.ExtendedAttributeLength],
            ExtentLocation = BothEndian.ReadUInt32(record[Field.ExtentLocation..], "extent location", fileOffset + Field.ExtentLocation),
            DataLength = BothEndian.ReadUInt32(record[Field.DataLength..], "data length", fileOffset + Field.DataLength),
            RecordingDate = IsoDates.ReadShort(record[Field.RecordingDate..]),
            Flags = record[Field.Flags],
            RawName = record.Slice(Field.Name, nameLength).ToArray(),
            SystemUse = systemUse,
            FileOffset = fileOffset,
        };
    }
}
