namespace DiskImage.Formats.Raw;

/// <summary>
/// What QEMU's image formats report when the node under them is a <c>host_cdrom</c> drive without a disc: each
/// format's own line for a failed read of its header (some with the errno, some without, some the block layer's
/// generic <c>Could not open 'FILE': No medium found</c>), after the size checks that come before any read.
/// </summary>
internal static class NoMediumRefusal
{
    private const string NoMedium = "No medium found";

    /// <summary>The refusal for <paramref name="format"/> over the drive at <paramref name="path"/> whose length is <paramref name="length"/>; null for raw.</summary>
    public static string? For(string format, string path, long length) => format switch
    {
        "raw" => null,
        "qcow2" => $"Could not read qcow2 header: {NoMedium}",
        "luks" => $"Could not read encryption header: {NoMedium}",
        "vpc" => "Unable to read VHD header",
        "qed" => "Failed to read QED header",
        "vmdk" => length < 4 ? "File is too small, not a valid image" : $"Could not read from file: {NoMedium}",
        "dmg" => length < 512 ? "dmg file must be at least 512 bytes long" : $"Failed while reading UDIF trailer: {NoMedium}",
        _ => $"Could not open '{path}': {NoMedium}",
    };
}
