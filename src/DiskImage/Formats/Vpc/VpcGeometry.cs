namespace DiskImage.Formats.Vpc;

/// <summary>A VHD's CHS geometry, which (for most creators) decides the disk size QEMU sees.</summary>
internal readonly record struct VpcGeometry(ushort Cylinders, byte Heads, byte SectorsPerTrack)
{
    /// <summary>65535 × 16 × 255 sectors: the largest geometry; an image with it is sized by its footer.</summary>
    public const long MaxGeometrySectors = 65535L * 16 * 255;

    /// <summary>2040 GiB in sectors, the largest VHD QEMU accepts.</summary>
    public const long MaxSectors = 0xff000000L;

    public static VpcGeometry Max => new(65535, 16, 255);

    public long TotalSectors => (long)Cylinders * Heads * SectorsPerTrack;

    /// <summary>The VHD specification's geometry for a sector count (it may round the count down).</summary>
    public static VpcGeometry For(long totalSectors)
    {
        if (totalSectors > 65535L * 16 * 255)
        {
            totalSectors = 65535L * 16 * 255;
        }

        int sectorsPerTrack;
        int heads;
        long cylindersTimesHeads;
        if (totalSectors > 65535L * 16 * 63)
        {
            sectorsPerTrack = 255;
            heads = 16;
            cylindersTimesHeads = totalSectors / sectorsPerTrack;
        }
        else
        {
            sectorsPerTrack = 17;
            cylindersTimesHeads = totalSectors / sectorsPerTrack;
            heads = (int)Math.Max(4, (cylindersTimesHeads + 1023) / 1024);
            if (cylindersTimesHeads >= heads * 1024L || heads > 16)
            {
                sectorsPerTrack = 31;
                heads = 16;
                cylindersTimesHeads = totalSectors / sectorsPerTrack;
            }

            if (cylindersTimesHeads >= heads * 1024L)
            {
                sectorsPerTrack = 63;
                heads = 16;
                cylindersTimesHeads = totalSectors / sectorsPerTrack;
            }
        }

        return new VpcGeometry((ushort)Math.Min(65535, cylindersTimesHeads / heads), (byte)heads, (byte)sectorsPerTrack);
    }

    /// <summary>
    /// The smallest geometry holding at least <paramref name="sectors"/>, as qemu-img searches for it
    /// (trying one more sector at a time until the rounded-down geometry is large enough).
    /// </summary>
    public static VpcGeometry Covering(long sectors)
    {
        sectors = Math.Min(MaxGeometrySectors, sectors);
        var geometry = new VpcGeometry(0, 0, 0);
        for (long i = 0; sectors > geometry.TotalSectors; i++)
        {
            geometry = For(sectors + i);
        }

        return geometry;
    }
}
