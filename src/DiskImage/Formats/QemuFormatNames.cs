using System.Collections.Frozen;

namespace DiskImage.Formats;

/// <summary>
/// The driver names qemu-img 7.2 knows (the "Supported formats" line of its help), so that a verb given one of them
/// fails with the driver's refusal, as qemu-img does, rather than calling the name unknown. Names are case-sensitive,
/// as in qemu-img.
/// </summary>
public static class QemuFormatNames
{
    /// <summary>Drivers that take no creation options at all: qemu-img refuses to create an image in any of them.</summary>
    private static readonly FrozenSet<string> NoCreation = new[]
    {
        "blkdebug", "blklogwrites", "blkverify", "bochs", "cloop", "compress", "copy-before-write", "copy-on-read",
        "dmg", "ftp", "ftps", "http", "https", "null-aio", "null-co", "preallocate", "quorum", "replication",
        "snapshot-access", "throttle", "vvfat",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Every driver name of qemu-img 7.2's list.</summary>
    private static readonly FrozenSet<string> Known = NoCreation.Concat(
    [
        "file", "gluster", "host_cdrom", "host_device", "iscsi", "iser", "luks", "nbd", "nfs", "nvme", "parallels",
        "qcow", "qcow2", "qed", "raw", "rbd", "ssh", "vdi", "vhdx", "vmdk", "vpc",
    ]).ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The names of the drivers qemu-img cannot create an image in, in its list's order.</summary>
    public static IReadOnlyList<string> WithoutCreation { get; } = [.. NoCreation.Order(StringComparer.Ordinal)];

    /// <summary>Whether qemu-img knows <paramref name="name"/> as a driver.</summary>
    public static bool IsKnown(string name) => Known.Contains(name);

    /// <summary>Whether <paramref name="name"/> is a driver qemu-img knows but cannot create an image in.</summary>
    public static bool CannotCreate(string name) => NoCreation.Contains(name);

    /// <summary>qemu-img's refusal to create an image in <paramref name="name"/> (one of <see cref="WithoutCreation"/>).</summary>
    public static string NoCreationMessage(string name) => $"Format driver '{name}' does not support image creation";
}
