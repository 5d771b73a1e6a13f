using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Dmg;

/// <summary>
/// The UDIF trailer ("koly" block) near the end of the file: where the data fork, the resource fork and the XML
/// property list lie, and the image's size in sectors. Fields are big-endian.
/// </summary>
internal readonly record struct DmgTrailer(ulong DataForkOffset, ulong ResourceForkOffset, ulong ResourceForkLength, ulong XmlOffset, ulong XmlLength, ulong SectorCount)
{
    private const int SearchWindow = 515;

    /// <summary>
    /// Finds the trailer: the file's length is taken in whole sectors (as the block layer reports it), and the magic
    /// is searched in the 515 bytes that end with the last sector's first four, since images need not end on a
    /// sector boundary. Returns the offset of the magic.
    /// </summary>
    public static long Find(IStorage file)
    {
        var length = (file.Length + 511) / 512 * 512;
        if (length < 512)
        {
            throw new InvalidImageException("dmg file must be at least 512 bytes long");
        }

        var offset = length > 511 + 512 ? length - 511 - 512 : 0;
        Span<byte> window = stackalloc byte[SearchWindow];
        window = window[..(int)Math.Min(length, SearchWindow)];
        file.Read(offset, window);
        var at = window.IndexOf("koly"u8);
        return at >= 0 ? offset + at : throw new InvalidImageException("Could not locate UDIF trailer in dmg file");
    }

    /// <summary>Reads the fields at <paramref name="offset"/>, where <see cref="Find"/> found the magic.</summary>
    public static DmgTrailer Read(IStorage file, long offset)
    {
        Span<byte> raw = stackalloc byte[512];
        file.Read(offset, raw);
        return new DmgTrailer(
            BinaryPrimitives.ReadUInt64BigEndian(raw[0x18..]),
            BinaryPrimitives.ReadUInt64BigEndian(raw[0x28..]),
            BinaryPrimitives.ReadUInt64BigEndian(raw[0x30..]),
            BinaryPrimitives.ReadUInt64BigEndian(raw[0xD8..]),
            BinaryPrimitives.ReadUInt64BigEndian(raw[0xE0..]),
            BinaryPrimitives.ReadUInt64BigEndian(raw[0x1EC..]));
    }
}
