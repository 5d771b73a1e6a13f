namespace DiskImage.Operations.Io.Commands;

/// <summary>
/// A <c>filename</c> among qemu-io's <c>open -o</c> options, judged as QEMU's block layer judges it: a protocol driver
/// takes the path operand as its <c>filename</c> and so refuses both at once; a null driver takes no other name than
/// its own URL, and refuses a <c>filename</c> option it has no use for; a format (or no driver) does not read its
/// file from <c>filename</c> at all, so without a path there is no file child, and beside one the option is left over.
/// </summary>
internal static class OpenFilenameOption
{
    /// <summary>QEMU 7.2's drivers that open a protocol node themselves (a path operand becomes their <c>filename</c>).</summary>
    private static readonly HashSet<string> s_protocols = new(StringComparer.Ordinal)
    {
        "file", "host_device", "host_cdrom", "null-co", "null-aio", "nbd", "ssh", "nfs", "http", "https", "ftp", "ftps",
        "iscsi", "iser", "gluster", "blkdebug", "blkverify", "vvfat", "rbd", "nvme",
    };

    public static bool IsNull(string? driver) => driver is "null-co" or "null-aio";

    /// <summary>The remote protocol drivers, which find their server in their own options only.</summary>
    public static bool IsRemote(string? driver) => driver is "nbd" or "ssh" or "nfs" or "iscsi" or "iser" or "http" or "https" or "ftp" or "ftps";

    /// <summary>
    /// The refusal QEMU reports before opening anything (without qemu-io's <c>can't open</c> prefix), or null. A
    /// <c>filename</c> beside a path under a format is only refused once the image has opened (<see cref="LeftOver"/>).
    /// </summary>
    public static string? RefusalBeforeOpen(string? driver, string? operand, bool hasFilename, bool hasFileChild)
    {
        if (driver is not null && s_protocols.Contains(driver))
        {
            if (operand is not null && hasFilename)
            {
                return "Can't specify 'file' and 'filename' options at the same time";
            }

            if (IsNull(driver) && operand is not null && operand != driver + "://")
            {
                return $"The only allowed filename for this driver is '{driver}://'";
            }

            // blkverify reads its children from its own name only: an option is not parsed for them.
            return driver == "blkverify" && operand is null && hasFilename && !hasFileChild ? "A block device must be specified for \"raw\"" : null;
        }

        if (operand is not null || !hasFilename || hasFileChild || driver is "quorum" or "blkdebug")
        {
            return null;
        }

        return driver is null ? "Must specify either driver or file" : "A block device must be specified for \"file\"";
    }

    /// <summary>
    /// Whether a <c>filename</c> option is left unused by the format opened over its file (the path operand, or the
    /// <c>file.</c> options given as <paramref name="file"/>); QEMU then refuses it.
    /// </summary>
    public static bool LeftOver(string? driver, string? file, bool hasFilename) =>
        file is not null && hasFilename && (driver is null || !s_protocols.Contains(driver));
}
