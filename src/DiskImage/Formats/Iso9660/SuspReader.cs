using DiskImage.IO;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// Splits a directory record's system use area into SUSP entries (IEEE P1281), following CE
/// continuation areas. Continuations are bounded in number and size, and must lie inside the image.
/// </summary>
internal static class SuspReader
{
    /// <summary>More continuation areas than this for one record means a crafted chain.</summary>
    public const int MaxContinuations = 32;

    /// <summary>Largest continuation area accepted (SUSP keeps them within a logical block).</summary>
    public const int MaxContinuationLength = IsoConstants.SectorSize;

    public static List<SuspEntry> Read(IBlockDevice device, ReadOnlySpan<byte> systemUse, int skip, long fileOffset)
    {
        var entries = new List<SuspEntry>();
        var area = skip < systemUse.Length ? systemUse[skip..].ToArray() : [];
        var continuations = 0;
        var areaOffset = fileOffset;
        while (true)
        {
            (uint Block, uint Offset, uint Length)? next = null;
            var position = 0;
            while (position + SuspEntry.HeaderLength <= area.Length)
            {
                int length = area[position + 2];
                if (length < SuspEntry.HeaderLength || position + length > area.Length)
                {
                    break;
                }

                var signature = string.Create(2, (area[position], area[position + 1]), static (span, s) =>
                {
                    span[0] = (char)s.Item1;
                    span[1] = (char)s.Item2;
                });
                var data = area.AsSpan(position + SuspEntry.HeaderLength, length - SuspEntry.HeaderLength).ToArray();
                position += length;
                if (signature == "ST")
                {
                    break;
                }

                if (signature == "CE" && data.Length >= 24)
                {
                    next = (BothEndian.ReadUInt32(data, "CE block", areaOffset), BothEndian.ReadUInt32(data.AsSpan(8), "CE offset", areaOffset),
                        BothEndian.ReadUInt32(data.AsSpan(16), "CE length", areaOffset));
                    continue;
                }

                entries.Add(new SuspEntry(signature, area[position - length + 3], data));
            }

            if (next is not { } ce)
            {
                return entries;
            }

            if (++continuations > MaxContinuations)
            {
                throw new InvalidImageException($"Rock Ridge continuation chain at offset {fileOffset} is longer than {MaxContinuations} areas", fileOffset);
            }

            var start = ((long)ce.Block * IsoConstants.SectorSize) + ce.Offset;
            if (ce.Length > MaxContinuationLength || ce.Offset >= IsoConstants.SectorSize || start + ce.Length > device.Length)
            {
                throw new InvalidImageException($"Rock Ridge continuation area (block {ce.Block}, offset {ce.Offset}, length {ce.Length}) lies outside the image", fileOffset);
            }

            area = new byte[ce.Length];
            device.Read(start, area);
            areaOffset = start;
        }
    }
}
