namespace DiskImage.IO.Nfs;

/// <summary>
/// The status codes of MOUNT v3 (<c>mountstat3</c>) and NFS v3 (<c>nfsstat3</c>) from RFC 1813, with the names and
/// errno values libnfs reports them by (which QEMU passes on in its error lines).
/// </summary>
internal static class NfsStatus
{
    /// <summary>A <c>mountstat3</c>'s name and errno (positive).</summary>
    public static (string Name, int Errno) Mount(uint status) => status switch
    {
        1 => ("MNT3ERR_PERM", 1),
        2 => ("MNT3ERR_NOENT", 1),
        5 => ("MNT3ERR_IO", 5),
        13 => ("MNT3ERR_ACCES", 13),
        20 => ("MNT3ERR_NOTDIR", 20),
        22 => ("MNT3ERR_INVAL", 22),
        63 => ("MNT3ERR_NAMETOOLONG", 7),
        10004 => ("MNT3ERR_NOTSUPP", 22),
        10006 => ("MNT3ERR_SERVERFAULT", 5),
        _ => ("unknown mount stat", 34),
    };

    /// <summary>An <c>nfsstat3</c>'s name and errno (positive).</summary>
    public static (string Name, int Errno) Nfs(uint status) => status switch
    {
        1 => ("NFS3ERR_PERM", 1),
        2 => ("NFS3ERR_NOENT", 2),
        5 => ("NFS3ERR_IO", 5),
        6 => ("NFS3ERR_NXIO", 6),
        13 => ("NFS3ERR_ACCES", 13),
        17 => ("NFS3ERR_EXIST", 17),
        18 => ("NFS3ERR_XDEV", 18),
        19 => ("NFS3ERR_NODEV", 19),
        20 => ("NFS3ERR_NOTDIR", 20),
        21 => ("NFS3ERR_ISDIR", 21),
        22 => ("NFS3ERR_INVAL", 22),
        27 => ("NFS3ERR_FBIG", 27),
        28 => ("NFS3ERR_NOSPC", 28),
        30 => ("NFS3ERR_ROFS", 30),
        31 => ("NFS3ERR_MLINK", 31),
        63 => ("NFS3ERR_NAMETOOLONG", 36),
        66 => ("NFS3ERR_NOTEMPTY", 39),
        69 => ("NFS3ERR_DQUOT", 34),
        70 => ("NFS3ERR_STALE", 116),
        71 => ("NFS3ERR_REMOTE", 5),
        10001 => ("NFS3ERR_BADHANDLE", 5),
        10002 => ("NFS3ERR_NOT_SYNC", 5),
        10003 => ("NFS3ERR_BAD_COOKIE", 5),
        10004 => ("NFS3ERR_NOTSUPP", 22),
        10005 => ("NFS3ERR_TOOSMALL", 5),
        10006 => ("NFS3ERR_SERVERFAULT", 5),
        10007 => ("NFS3ERR_BADTYPE", 22),
        10008 => ("NFS3ERR_JUKEBOX", 11),
        _ => ("unknown nfs error", 34),
    };

    /// <summary>libnfs's "NAME(-errno)" for an NFS status, as in <c>NFS3ERR_NOENT(-2)</c>.</summary>
    public static string Describe(uint status)
    {
        var (name, errno) = Nfs(status);
        return $"{name}(-{errno})";
    }
}
