namespace DiskImage.Formats.Iso9660;

/// <summary>One directory record to write: identifier, extent, flags, date and its SUSP chain.</summary>
internal readonly record struct IsoRecordSpec(byte[] Identifier, uint Block, uint Size, byte Flags, DateTimeOffset Date, SuspChain? Susp)
{
    /// <summary>Record length: fixed part, identifier, pad byte after an even-length identifier, inline SUSP, rounded up to even.</summary>
    public int Length => RecordLength(Identifier.Length, Susp?.InlineLength ?? 0);

    public static int RecordLength(int identifierLength, int suspLength)
    {
        var length = DirectoryRecord.Field.Name + identifierLength + ((identifierLength & 1) == 0 ? 1 : 0) + suspLength;
        return (length + 1) & ~1;
    }

    /// <summary>Room left for SUSP in a record with this identifier (records stop at 254 so padding never passes 255).</summary>
    public static int SuspCapacity(int identifierLength) =>
        254 - DirectoryRecord.Field.Name - identifierLength - ((identifierLength & 1) == 0 ? 1 : 0);

    public void Write(Span<byte> destination)
    {
        var length = Length;
        destination[..length].Clear();
        destination[DirectoryRecord.Field.Length] = (byte)length;
        BothEndian.WriteUInt32(destination[DirectoryRecord.Field.ExtentLocation..], Block);
        BothEndian.WriteUInt32(destination[DirectoryRecord.Field.DataLength..], Size);
        IsoDates.WriteShort(destination[DirectoryRecord.Field.RecordingDate..], Date);
        destination[DirectoryRecord.Field.Flags] = Flags;
        BothEndian.WriteUInt16(destination[DirectoryRecord.Field.VolumeSequence..], 1);
        destination[DirectoryRecord.Field.NameLength] = (byte)Identifier.Length;
        Identifier.CopyTo(destination[DirectoryRecord.Field.Name..]);
        if (Susp is not null)
        {
            var start = DirectoryRecord.Field.Name + Identifier.Length + ((Identifier.Length & 1) == 0 ? 1 : 0);
            Susp.WriteArea(0, destination[start..]);
        }
    }
}
