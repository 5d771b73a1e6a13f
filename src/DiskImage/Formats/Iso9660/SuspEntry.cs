namespace DiskImage.Formats.Iso9660;

/// <summary>One System Use Sharing Protocol entry: a two-letter signature, a version and its data.</summary>
internal readonly record struct SuspEntry(string Signature, byte Version, byte[] Data)
{
    /// <summary>Entry header: signature (2), length (1), version (1).</summary>
    public const int HeaderLength = 4;
}
