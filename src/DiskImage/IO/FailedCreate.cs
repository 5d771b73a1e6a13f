namespace DiskImage.IO;

/// <summary>Removes what a failed create left behind, but only plain files.</summary>
internal static class FailedCreate
{
    /// <summary>
    /// Deletes <paramref name="path"/> when it is a regular file. A device or FIFO named as the target (written in
    /// place, such as <c>/dev/null</c> or a disk) is never unlinked: removing its node would lose the device itself.
    /// </summary>
    public static void Remove(string path)
    {
        if (FileIdentity.Of(path) is { Kind: FileKind.Regular })
        {
            File.Delete(path);
        }
    }
}
