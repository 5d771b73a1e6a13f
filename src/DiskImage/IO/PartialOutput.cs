using System.Security.Cryptography;

namespace DiskImage.IO;

/// <summary>
/// An output that is whole or absent: it is written under a temporary name beside the target
/// (<c>.NAME.diskimg-partial-XXXXXX</c>, saying it is incomplete) and renamed over the target only by
/// <see cref="Commit"/>, after the last byte. Disposing without committing removes the temporary file,
/// so a failure, a full disk or a cancellation leaves nothing under the target's name. Targets that
/// cannot be replaced by a rename (block and character devices, FIFOs) are written in place.
/// </summary>
public sealed class PartialOutput : IDisposable
{
    /// <summary>What every temporary name contains.</summary>
    public const string Marker = ".diskimg-partial-";

    private readonly HostFile? _replacedTarget;
    private bool _finished;

    private PartialOutput(string targetPath, string writePath, bool inPlace, HostFile? replacedTarget = null)
    {
        TargetPath = targetPath;
        WritePath = writePath;
        InPlace = inPlace;
        _replacedTarget = replacedTarget;
    }

    /// <summary>The name the finished output gets (a symbolic link's final target, so the link keeps pointing at it).</summary>
    public string TargetPath { get; }

    /// <summary>Where to write: the temporary file, or the target itself when <see cref="InPlace"/>.</summary>
    public string WritePath { get; }

    /// <summary>The target is written where it is (a device, or a directory that takes no new files).</summary>
    public bool InPlace { get; }

    /// <summary>Reserves a temporary file beside <paramref name="target"/> (created empty, exclusively).</summary>
    public static PartialOutput Begin(string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var existing = FileIdentity.Of(target);
        if (existing is { Kind: not FileKind.Regular })
        {
            return new PartialOutput(target, target, inPlace: true);
        }

        var final = existing is null ? target : FinalTarget(target);

        // A file about to be replaced is locked as QEMU locks a target it truncates, and held until the rename: a
        // disk a running VM (or any QEMU process) uses is refused, never renamed over.
        var replaced = existing is null ? null : LockReplacedTarget(target, final);
        try
        {
            return Reserve(target, final, existing is not null, replaced);
        }
        catch
        {
            replaced?.Dispose();
            throw;
        }
    }

    private static HostFile LockReplacedTarget(string target, string final) =>
        HostFile.Open(final, writable: true, new LockRequest(LockPermissions.Write | LockPermissions.Resize, LockPermissions.All & ~LockPermissions.Resize, ImageLocking.Auto, target));

    private static PartialOutput Reserve(string target, string final, bool exists, HostFile? replaced)
    {
        var directory = Path.GetDirectoryName(final) ?? "";
        for (var attempt = 0; ; attempt++)
        {
            var temporary = Path.Combine(directory, $".{Path.GetFileName(final)}{Marker}{RandomSuffix()}");
            try
            {
                using (File.OpenHandle(temporary, FileMode.CreateNew, FileAccess.ReadWrite))
                {
                }

                if (exists && !OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(temporary, File.GetUnixFileMode(final));
                }

                return new PartialOutput(final, temporary, inPlace: false, replaced);
            }
            catch (IOException) when (File.Exists(temporary) && attempt < 8)
            {
                // A name collision; another suffix.
            }
            catch (UnauthorizedAccessException) when (exists)
            {
                // The directory takes no new files but the target itself may be writable: write it in place, as qemu-img does.
                replaced?.Dispose();
                return new PartialOutput(target, target, inPlace: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ImageAccessException($"Could not create '{target}': {ErrnoText.Describe(e, target)}", e);
            }
        }
    }

    /// <summary>
    /// Moves the finished file into place. With <paramref name="flushToDisk"/> the file and then its directory
    /// are flushed first, so even a power loss leaves the old target or the whole new one.
    /// </summary>
    public void Commit(bool flushToDisk)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        if (!InPlace)
        {
            if (flushToDisk)
            {
                using var handle = File.OpenHandle(WritePath, FileMode.Open, FileAccess.ReadWrite);
                RandomAccess.FlushToDisk(handle);
            }

            try
            {
                File.Move(WritePath, TargetPath, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ImageAccessException($"Could not create '{TargetPath}': {ErrnoText.Describe(e, TargetPath)}", e);
            }

            if (flushToDisk)
            {
                FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(TargetPath))!);
            }
        }

        _replacedTarget?.Dispose();
        _finished = true;
    }

    /// <summary>Removes the temporary file unless <see cref="Commit"/> ran.</summary>
    public void Dispose()
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        _replacedTarget?.Dispose();
        if (!InPlace)
        {
            try
            {
                File.Delete(WritePath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Nothing more can be done; the name still says the file is incomplete.
            }
        }
    }

    private static string FinalTarget(string path) =>
        new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;

    private static string RandomSuffix()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        Span<char> chars = stackalloc char[6];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        }

        return new string(chars);
    }

    /// <summary>Makes a rename in <paramref name="directory"/> durable (fsync of the directory); best effort.</summary>
    private static void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            using var handle = File.OpenHandle(directory, FileMode.Open, FileAccess.Read);
            RandomAccess.FlushToDisk(handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Some file systems refuse to open or sync directories; the data itself is on disk.
        }
    }
}
