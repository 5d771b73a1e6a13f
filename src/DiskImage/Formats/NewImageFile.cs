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

    private NewImageFile(string path, IStorage file, bool existed)
    {
        _path = path;
        File = file;
        _existed = existed;
    }

    /// <summary>The new image's file, created or emptied: a host file, or a file on an SSH server.</summary>
    public IStorage File { get; }

    /// <summary>
    /// Creates <paramref name="path"/>, or empties the file there (as qemu-img), remembering which. An <c>ssh://</c>
    /// name is created on its server through the ssh driver, as QEMU creates the file of any format there; what a
    /// failed create leaves on a server stays, as qemu-img leaves it.
    /// </summary>
    public static NewImageFile Create(string path)
    {
        // Asked before the create: what a failed create may remove depends on it.
        var existed = Options.SshNode.IsSshUri(path) || IO.Nfs.NfsUrl.IsNfs(path) || FileIdentity.Of(path) is not null;
        return new NewImageFile(path, CreateFile(path), existed);
    }

    /// <summary>
    /// Creates (or empties) the file at <paramref name="path"/> for writing: a host file, locked as
    /// <see cref="HostFile.Create(string)"/> locks it, or the file an <c>ssh://</c> name names on its server.
    /// </summary>
    public static IStorage CreateFile(string path) =>
        Options.SshNode.IsSshUri(path) ? IO.Ssh.SshStorage.Create(Options.SshNode.FromUri(path))
        : IO.Nfs.NfsUrl.IsNfs(path) ? IO.Nfs.NfsStorage.Create(IO.Nfs.NfsNode.FromUrl(path), 0)
        : HostFile.Create(path);

    /// <summary>
    /// Creates the file and runs <paramref name="write"/> on it, closed after; a failure reads
    /// <c>Could not create image: ...</c> (qcow and qed's words).
    /// </summary>
    public static void Write(string path, Action<IStorage> write)
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
