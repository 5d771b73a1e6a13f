using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>
/// The file of an image being created, and its first writes (header and empty tables). A write that fails (a full
/// disk, a file-size limit) is reported in the format driver's words, as qemu-img reports it. What is left under the
/// name then: a file this create made is removed, so no image that cannot open is left (qemu-img leaves it); a file
/// that was there before is left, emptied by the create and partly written, as qemu-img leaves it (its old contents
/// are gone either way). qcow2 and luks, whose drivers delete the file in QEMU too, remove it themselves.
/// </summary>
internal sealed class NewImageFile : IDisposable
{
    private readonly string _path;
    private readonly bool _existed;

    private NewImageFile(string path, HostFile file, bool existed)
    {
        _path = path;
        File = file;
        _existed = existed;
    }

    /// <summary>The new image's file, created or emptied.</summary>
    public HostFile File { get; }

    /// <summary>Creates <paramref name="path"/>, or empties the file there (as qemu-img), remembering which.</summary>
    public static NewImageFile Create(string path)
    {
        // Asked before the create: what a failed create may remove depends on it.
        var existed = FileIdentity.Of(path) is not null;
        return new NewImageFile(path, HostFile.Create(path), existed);
    }

    /// <summary>
    /// Creates the file and runs <paramref name="write"/> on it, closed after; a failure reads
    /// <c>Could not create image: ...</c> (qcow and qed's words).
    /// </summary>
    public static void Write(string path, Action<HostFile> write)
    {
        using var created = Create(path);
        created.Guard("Could not create image", withErrno: true, () => write(created.File));
    }

    /// <summary>
    /// Runs <paramref name="write"/>; an I/O error becomes <paramref name="lead"/>, followed by the error's text when
    /// <paramref name="withErrno"/> (some drivers name no errno). On an I/O error or a file-size limit the file is
    /// removed when this create made it.
    /// </summary>
    public void Guard(string lead, bool withErrno, Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or FileTooLargeException)
        {
            if (!_existed)
            {
                // Unlinked while still open; Dispose closes it.
                TryRemove();
            }

            if (e is IOException)
            {
                throw new ImageAccessException(withErrno ? $"{lead}: {ErrnoText.Describe(e, _path)}" : lead, e);
            }

            throw;
        }
    }

    public void Dispose() => File.Dispose();

    private void TryRemove()
    {
        try
        {
            FailedCreate.Remove(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The error being reported is the write's; a file that cannot be removed stays.
        }
    }
}
