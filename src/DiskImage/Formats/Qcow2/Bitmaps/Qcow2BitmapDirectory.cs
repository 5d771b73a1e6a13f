using System.Buffers.Binary;
using System.Text;

namespace DiskImage.Formats.Qcow2.Bitmaps;

/// <summary>
/// The bitmap directory: parsed and checked entry by entry in QEMU's order (<c>bitmap_list_load</c>),
/// with its messages, and written back as a whole.
/// </summary>
internal static class Qcow2BitmapDirectory
{
    /// <summary>Reads and parses the directory the extension points at.</summary>
    public static List<Qcow2Bitmap> Load(IO.IStorage file, Qcow2BitmapsExtension extension, int clusterSize, long imageLength)
    {
        if (extension.DirectorySize == 0)
        {
            throw new InvalidImageException("Requested bitmap directory size is zero");
        }

        if (extension.DirectorySize > Qcow2BitmapLimits.MaxDirectoryBytes)
        {
            throw new InvalidImageException("Requested bitmap directory size is too big");
        }

        var directory = new byte[extension.DirectorySize];
        if (extension.DirectoryOffset <= Qcow2Constants.MaxHostOffset)
        {
            file.Read(extension.DirectoryOffset, directory);
        }

        return Parse(directory, extension.Count, clusterSize, imageLength);
    }

    /// <summary>Parses a whole directory of <paramref name="count"/> entries, refusing what QEMU refuses.</summary>
    public static List<Qcow2Bitmap> Parse(ReadOnlySpan<byte> directory, uint count, int clusterSize, long imageLength)
    {
        var bitmaps = new List<Qcow2Bitmap>();
        var position = 0;
        while (position < directory.Length)
        {
            if (directory.Length - position < Qcow2BitmapLimits.DirectoryEntryHeaderSize)
            {
                throw Broken();
            }

            if (bitmaps.Count + 1 > count)
            {
                throw new InvalidImageException("More bitmaps found than specified in header extension");
            }

            var entry = directory[position..];
            var tableOffset = BinaryPrimitives.ReadUInt64BigEndian(entry);
            var tableSize = BinaryPrimitives.ReadUInt32BigEndian(entry[8..]);
            var flags = BinaryPrimitives.ReadUInt32BigEndian(entry[12..]);
            var type = entry[16];
            var granularityBits = entry[17];
            var nameSize = BinaryPrimitives.ReadUInt16BigEndian(entry[18..]);
            var extraSize = BinaryPrimitives.ReadUInt32BigEndian(entry[20..]);
            var entrySize = (Qcow2BitmapLimits.DirectoryEntryHeaderSize + (long)nameSize + extraSize + 7) & ~7L;
            if (entrySize > directory.Length - position)
            {
                throw Broken();
            }

            if (extraSize != 0)
            {
                throw new InvalidImageException("Bitmap extra data is not supported");
            }

            var nameBytes = entry.Slice(Qcow2BitmapLimits.DirectoryEntryHeaderSize, nameSize);
            var nul = nameBytes.IndexOf((byte)0);
            var name = Encoding.UTF8.GetString(nul < 0 ? nameBytes : nameBytes[..nul]);
            if (!SatisfiesConstraints(tableOffset, tableSize, flags, type, granularityBits, nameSize, clusterSize, imageLength))
            {
                throw new InvalidImageException($"Bitmap '{name}' doesn't satisfy the constraints");
            }

            bitmaps.Add(new Qcow2Bitmap(name, granularityBits, flags, (long)tableOffset, (int)tableSize));
            position += (int)entrySize;
        }

        if (bitmaps.Count != count)
        {
            throw new InvalidImageException("Less bitmaps found than specified in header extension");
        }

        return bitmaps;
    }

    /// <summary>Serializes <paramref name="bitmaps"/> as one directory (no extra data).</summary>
    public static byte[] Serialize(IReadOnlyList<Qcow2Bitmap> bitmaps)
    {
        var directory = new byte[bitmaps.Sum(b => (long)b.EntrySize)];
        var position = 0;
        foreach (var bitmap in bitmaps)
        {
            var entry = directory.AsSpan(position);
            var name = Encoding.UTF8.GetBytes(bitmap.Name);
            BinaryPrimitives.WriteInt64BigEndian(entry, bitmap.TableOffset);
            BinaryPrimitives.WriteUInt32BigEndian(entry[8..], (uint)bitmap.TableSize);
            BinaryPrimitives.WriteUInt32BigEndian(entry[12..], bitmap.Flags);
            entry[16] = Qcow2BitmapLimits.TypeDirtyTracking;
            entry[17] = (byte)bitmap.GranularityBits;
            BinaryPrimitives.WriteUInt16BigEndian(entry[18..], (ushort)name.Length);
            name.CopyTo(entry[Qcow2BitmapLimits.DirectoryEntryHeaderSize..]);
            position += bitmap.EntrySize;
        }

        return directory;
    }

    /// <summary>QEMU's <c>check_dir_entry</c>.</summary>
    private static bool SatisfiesConstraints(ulong tableOffset, uint tableSize, uint flags, byte type, int granularityBits, int nameSize, int clusterSize, long imageLength)
    {
        if (tableSize == 0 || tableOffset == 0 || tableOffset % (ulong)clusterSize != 0 || tableSize > Qcow2BitmapLimits.MaxTableEntries
            || granularityBits is > Qcow2BitmapLimits.MaxGranularityBits or < Qcow2BitmapLimits.MinGranularityBits
            || (flags & Qcow2BitmapLimits.ReservedFlags) != 0 || nameSize > Qcow2BitmapLimits.MaxNameBytes
            || type != Qcow2BitmapLimits.TypeDirtyTracking)
        {
            return false;
        }

        var dataBytes = (long)tableSize * clusterSize;
        if (dataBytes > Qcow2BitmapLimits.MaxDataBytes)
        {
            return false;
        }

        // A consistent bitmap must have table room for the whole disk; an in-use one may be stale (resized while open).
        var covered = (decimal)dataBytes * 8 * (1L << granularityBits);
        return (flags & Qcow2BitmapLimits.FlagInUse) != 0 || imageLength <= covered;
    }

    private static InvalidImageException Broken() => new("Broken bitmap directory");
}
