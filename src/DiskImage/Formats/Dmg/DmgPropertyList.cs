using DiskImage.IO;

namespace DiskImage.Formats.Dmg;

/// <summary>
/// The XML form of the tables: every <c>&lt;data&gt;</c> element of the property list holds a base64 "mish" block.
/// As QEMU, this is a plain text scan, not an XML parse: no entities, no DTD, nothing fetched; the text ends at its
/// first NUL byte, and a <c>&lt;data&gt;</c> without its closing tag fails the open. The list is at most 16 MiB.
/// </summary>
internal static class DmgPropertyList
{
    public const ulong MaxLength = 16 * 1024 * 1024;

    public static void Read(IStorage file, DmgMishBlock mish, ulong offset, ulong length)
    {
        if (length == 0 || length > MaxLength)
        {
            throw new DmgTableException();
        }

        var buffer = new byte[(int)length];
        file.Read((long)offset, buffer);
        Scan(buffer, mish);
    }

    /// <summary>Decodes each data element of <paramref name="xml"/> into <paramref name="mish"/>.</summary>
    public static void Scan(ReadOnlySpan<byte> xml, DmgMishBlock mish)
    {
        var nul = xml.IndexOf((byte)0);
        var text = nul >= 0 ? xml[..nul] : xml;
        while (true)
        {
            var open = text.IndexOf("<data>"u8);
            if (open < 0)
            {
                return;
            }

            text = text[(open + 6)..];
            var close = text.IndexOf("</data>"u8);
            if (close < 0)
            {
                throw new DmgTableException();
            }

            mish.Add(Codecs.GlibBase64.Decode(text[..close]));

            // The next search starts just past the closing tag's '<', as QEMU's.
            text = text[(close + 1)..];
        }
    }
}
