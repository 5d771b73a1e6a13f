using DiskImage.IO.Blkdebug;
using DiskImage.Nbd.Client;

namespace DiskImage.IO;

/// <summary>Opens the storage a name refers to: a host file, an NBD export for <c>nbd:</c> names, a file on a web or FTP server for <c>http://</c>, <c>https://</c>, <c>ftp://</c> and <c>ftps://</c> URLs, an <c>ssh://</c> or <c>nfs://</c> server, a LUN of an <c>iscsi://</c> target, or the image under a
/// <c>blkdebug:CONFIG:PATH</c> name (with the rules file's fault injection when CONFIG is given).</summary>
public static class Storage
{
    /// <summary>Opens existing storage; errors become <see cref="ImageAccessException"/> in qemu-img's words.</summary>
    public static IStorage Open(string name, bool writable) => Open(name, writable, lockRequest: null);

    /// <summary>
    /// Opens existing storage and, for a host file, locks it as QEMU's file driver does (<see cref="ImageLock"/>);
    /// a conflict with another process throws <see cref="ImageLockedException"/>. NBD exports take no file locks.
    /// </summary>
    public static IStorage Open(string name, bool writable, LockRequest? lockRequest)
    {
        if (!BlkdebugName.IsBlkdebug(name))
        {
            return NbdUri.IsNbd(name) ? NbdStorage.Open(name, writable)
                : Curl.CurlStorage.IsCurlUrl(name) ? Curl.CurlStorage.Open(name, writable)
                : Formats.Vvfat.VvfatName.IsVvfat(name) ? Formats.Vvfat.VvfatStorage.Open(name, writable)
                : Options.SshNode.IsSshUri(name) ? Ssh.SshStorage.Open(name, writable)
                : Nfs.NfsUrl.IsNfs(name) ? Nfs.NfsStorage.Open(name, writable)
                : Iscsi.IscsiNode.IsIscsi(name) ? Iscsi.IscsiStorage.Open(name, writable)
                : HostFile.Open(name, writable, lockRequest);
        }

        // The rules are read before the image is opened, as QEMU's blkdebug_open does.
        var (config, path) = BlkdebugName.Split(name);
        // The node stays even without rules: the format above raises its events there, which breakpoints follow.
        var rules = config is null ? [] : BlkdebugRules.Load(config, []);
        var image = OpenImageChild(path, writable, lockRequest);
        // QEMU names the node by its rules file and its image's own name (file: stripped).
        return new BlkdebugStorage(image, rules, $"blkdebug:{config}:{image.Path}");
    }

    /// <summary>
    /// The image under a <c>blkdebug:</c> name, opened by the protocol its prefix picks: the null drivers' nodes too,
    /// which take no other name than their own URL (QEMU's words when it is another).
    /// </summary>
    private static IStorage OpenImageChild(string path, bool writable, LockRequest? lockRequest)
    {
        if (ProtocolName.Of(path) is { } protocol && protocol is "null-co" or "null-aio")
        {
            return path == protocol + "://" ? new Formats.Null.NullStorage(path, Formats.Null.NullFormat.DefaultSize, readZeroes: false, writable)
                : throw new InvalidImageException($"The only allowed filename for this driver is '{protocol}://'");
        }

        // An explicit file: prefix names the same file, which the node is then named by.
        return Open(FileProtocolPrefix.Strip(path), writable, lockRequest);
    }

    /// <summary>
    /// Where the secrets that storage options name by id (the curl drivers' <c>cookie-secret</c>, <c>password-secret</c>,
    /// <c>proxy-password-secret</c>) are looked up, as qemu-img's <c>--object secret</c> definitions. Process-wide.
    /// </summary>
    public static void UseSecrets(Func<string, byte[]?> lookup)
    {
        Curl.CurlStorage.UseSecrets(lookup);
        Iscsi.IscsiNode.UseSecrets(lookup);
    }

    /// <summary>Puts a blkdebug node with <paramref name="rules"/> over <paramref name="storage"/>; without rules the storage is used as it is.</summary>
    internal static IStorage WithRules(IStorage storage, IReadOnlyList<BlkdebugRule> rules) =>
        rules.Count == 0 ? storage : new BlkdebugStorage(storage, rules);
}
