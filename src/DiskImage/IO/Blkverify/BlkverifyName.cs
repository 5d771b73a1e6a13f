namespace DiskImage.IO.Blkverify;

/// <summary>A <c>blkverify:RAW:TEST</c> name: the raw copy's file, then the image under test (which may hold colons).</summary>
internal static class BlkverifyName
{
    public const string Prefix = "blkverify:";

    /// <summary>The two file names; refused in QEMU's words when the name has no second part.</summary>
    public static (string Raw, string Test) Parse(string name)
    {
        var rest = name[Prefix.Length..];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        return colon < 0
            ? throw new InvalidOptionException("blkverify requires raw copy and original image path")
            : (rest[..colon], rest[(colon + 1)..]);
    }
}
