using System.Buffers.Binary;

namespace DiskImage.Formats.Qcow2.Bitmaps;

/// <summary>A bitmap table: one entry per cluster of bitmap data (a data cluster, all zeroes, or all ones).</summary>
internal static class Qcow2BitmapTable
{
    /// <summary>QEMU's <c>check_table_entry</c>: no reserved bits; a data offset is cluster aligned and has no all-ones flag.</summary>
    public static bool IsValidEntry(ulong entry, int clusterSize)
    {
        if ((entry & Qcow2BitmapLimits.TableEntryReservedMask) != 0)
        {
            return false;
        }

        var offset = entry & Qcow2BitmapLimits.TableEntryOffsetMask;
        return offset == 0 || ((entry & Qcow2BitmapLimits.TableEntryAllOnes) == 0 && offset % (ulong)clusterSize == 0);
    }

    /// <summary>Reads the table raw (bytes past the end of the file read as zeroes, as in QEMU).</summary>
    public static ulong[] Read(IO.IStorage file, Qcow2Bitmap bitmap)
    {
        var raw = new byte[bitmap.TableSize * 8L];
        file.Read(bitmap.TableOffset, raw);
        var table = new ulong[bitmap.TableSize];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8));
        }

        return table;
    }

    /// <summary>
    /// QEMU's open-time load of every bitmap, minus keeping the data: names unique, and for each bitmap
    /// not in use a table whose entries are valid and whose size fits the disk. Failures carry QEMU's words.
    /// </summary>
    public static void Validate(IO.IStorage file, IReadOnlyList<Qcow2Bitmap> bitmaps, int clusterSize, long imageLength)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var validated = new HashSet<(long, int)>();
        foreach (var bitmap in bitmaps)
        {
            if (!names.Add(bitmap.Name))
            {
                throw new InvalidImageException($"Bitmap already exists: {bitmap.Name}");
            }

            if (bitmap.InUse)
            {
                continue; // its data is unusable and is not read
            }

            // A table past the end of the file reads as zeroes (valid), and one already read need not be read
            // again: a crafted directory of 65535 entries naming big tables costs no more than the file holds.
            if (bitmap.TableOffset < file.Length && validated.Add((bitmap.TableOffset, bitmap.TableSize))
                && Read(file, bitmap).Any(entry => !IsValidEntry(entry, clusterSize)))
            {
                throw new InvalidImageException($"Could not read bitmap_table table from image for bitmap '{bitmap.Name}': Invalid argument");
            }

            if (Qcow2BitmapLimits.TableEntries(imageLength, bitmap.GranularityBits, clusterSize) != bitmap.TableSize)
            {
                throw new InvalidImageException($"Could not read bitmap '{bitmap.Name}' from image: Invalid argument");
            }
        }
    }
}
