namespace DiskImage.IO.Blkverify;

/// <summary>A <c>blkverify:RAW:TEST</c> name: the raw copy's file, then the image under test (which may hold colons).</summary>
internal static class BlkverifyName
{
    public const string Prefix = "blkverify:";

    /// <summary>The two file names; refused in QEMU's words when the name has no second part or either part is empty.</summary>
    public static (string Raw, string Test) Parse(string name)
    {
        // QEMU reads the name as a C string: it ends at a NUL (which only a json: name or a library caller can give).
        var end = name.IndexOf('\0', StringComparison.Ordinal);
        var rest = name[Prefix.Length..(end < 0 ? name.Length : Math.Max(end, Prefix.Length))];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            throw new InvalidOptionException("blkverify requires raw copy and original image path");
        }

        var (raw, test) = (rest[..colon], rest[(colon + 1)..]);
        // Either child with an empty name is a file node without a file name to QEMU.
        return raw.Length == 0 || test.Length == 0 ? throw new InvalidOptionException("The 'file' block driver requires a file name") : (raw, test);
    }
}
