namespace DiskImage.Formats.Iso9660;

/// <summary>Recognises the MBR or GPT that isohybrid images keep in the 32 KiB system area.</summary>
internal static class SystemAreaProbe
{
    public static string? Detect(ReadOnlySpan<byte> systemArea)
    {
        if (systemArea.Length < 1024 || systemArea[510] != 0x55 || systemArea[511] != 0xAA)
        {
            return null;
        }

        if (systemArea.Slice(512, 8).SequenceEqual("EFI PART"u8))
        {
            return "gpt";
        }

        // An MBR signature alone can be boot code; require at least one partition entry.
        for (var i = 0; i < 4; i++)
        {
            var entry = systemArea.Slice(446 + (16 * i), 16);
            if (entry[4] != 0 && (entry[0] & 0x7F) == 0)
            {
                return "mbr";
            }
        }

        return null;
    }
}
