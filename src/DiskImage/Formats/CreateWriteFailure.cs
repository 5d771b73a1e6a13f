using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>
/// The first writes of a new image, whose failure (a full disk, a file-size limit) qemu-img reports in the format
/// driver's own words rather than as a bare errno. The half-written file is removed: this create made or emptied it, so
/// nothing it held is lost, and no image that cannot open is left under the name (qemu-img leaves it for most formats).
/// </summary>
internal static class CreateWriteFailure
{
    /// <summary>
    /// Runs <paramref name="write"/>; an I/O error becomes <paramref name="lead"/>, followed by the error's text when
    /// <paramref name="withErrno"/> (some drivers name no errno).
    /// </summary>
    public static void Guard(string path, string lead, bool withErrno, Action write)
    {
        try
        {
            write();
        }
        catch (IOException e)
        {
            // Unlinked while the caller still holds it open; its using closes it.
            FailedCreate.Remove(path);
            throw new ImageAccessException(withErrno ? $"{lead}: {ErrnoText.Describe(e, path)}" : lead, e);
        }
    }
}
