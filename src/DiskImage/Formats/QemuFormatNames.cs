using System.Collections.Frozen;

namespace DiskImage.Formats;

/// <summary>What kind of block driver a name of qemu-img 7.2's list is, which decides how qemu-img fails with it.</summary>
public enum QemuDriverClass
{
    /// <summary>Not one of qemu-img's driver names.</summary>
    Unknown,

    /// <summary>An image format qemu-img can create (qcow2, vmdk, parallels ...).</summary>
    FormatWithCreate,

    /// <summary>An image format qemu-img only reads (bochs, cloop, dmg) or a directory view (vvfat).</summary>
    FormatWithoutCreate,

    /// <summary>A protocol whose driver creates images itself (file, gluster, nfs, rbd, ssh).</summary>
    ProtocolWithCreate,

    /// <summary>A protocol without creation: qemu-img tries to open the target instead (host_device, nbd, iscsi ...).</summary>
    ProtocolWithoutCreate,

    /// <summary>A read-only protocol without any creation (the curl drivers: http, https, ftp, ftps).</summary>
    ReadOnlyProtocol,

    /// <summary>A filter or test node (blkdebug, throttle, quorum, null-co ...); none creates images.</summary>
    Filter,
}

/// <summary>
/// The driver names qemu-img 7.2 knows (the "Supported formats" line of its help) and their classes, so that a verb
/// given one of them fails with the driver's refusal, as qemu-img does, rather than calling the name unknown. Names
/// are case-sensitive, as in qemu-img.
/// </summary>
public static class QemuFormatNames
{
    private static readonly FrozenDictionary<string, QemuDriverClass> Classes = new Dictionary<string, QemuDriverClass>(StringComparer.Ordinal)
    {
        ["luks"] = QemuDriverClass.FormatWithCreate,
        ["parallels"] = QemuDriverClass.FormatWithCreate,
        ["qcow"] = QemuDriverClass.FormatWithCreate,
        ["qcow2"] = QemuDriverClass.FormatWithCreate,
        ["qed"] = QemuDriverClass.FormatWithCreate,
        ["raw"] = QemuDriverClass.FormatWithCreate,
        ["vdi"] = QemuDriverClass.FormatWithCreate,
        ["vhdx"] = QemuDriverClass.FormatWithCreate,
        ["vmdk"] = QemuDriverClass.FormatWithCreate,
        ["vpc"] = QemuDriverClass.FormatWithCreate,
        ["bochs"] = QemuDriverClass.FormatWithoutCreate,
        ["cloop"] = QemuDriverClass.FormatWithoutCreate,
        ["dmg"] = QemuDriverClass.FormatWithoutCreate,
        ["vvfat"] = QemuDriverClass.FormatWithoutCreate,
        ["file"] = QemuDriverClass.ProtocolWithCreate,
        ["gluster"] = QemuDriverClass.ProtocolWithCreate,
        ["nfs"] = QemuDriverClass.ProtocolWithCreate,
        ["rbd"] = QemuDriverClass.ProtocolWithCreate,
        ["ssh"] = QemuDriverClass.ProtocolWithCreate,
        ["host_cdrom"] = QemuDriverClass.ProtocolWithoutCreate,
        ["host_device"] = QemuDriverClass.ProtocolWithoutCreate,
        ["iscsi"] = QemuDriverClass.ProtocolWithoutCreate,
        ["iser"] = QemuDriverClass.ProtocolWithoutCreate,
        ["nbd"] = QemuDriverClass.ProtocolWithoutCreate,
        ["nvme"] = QemuDriverClass.ProtocolWithoutCreate,
        ["ftp"] = QemuDriverClass.ReadOnlyProtocol,
        ["ftps"] = QemuDriverClass.ReadOnlyProtocol,
        ["http"] = QemuDriverClass.ReadOnlyProtocol,
        ["https"] = QemuDriverClass.ReadOnlyProtocol,
        ["blkdebug"] = QemuDriverClass.Filter,
        ["blklogwrites"] = QemuDriverClass.Filter,
        ["blkverify"] = QemuDriverClass.Filter,
        ["compress"] = QemuDriverClass.Filter,
        ["copy-before-write"] = QemuDriverClass.Filter,
        ["copy-on-read"] = QemuDriverClass.Filter,
        ["null-aio"] = QemuDriverClass.Filter,
        ["null-co"] = QemuDriverClass.Filter,
        ["preallocate"] = QemuDriverClass.Filter,
        ["quorum"] = QemuDriverClass.Filter,
        ["replication"] = QemuDriverClass.Filter,
        ["snapshot-access"] = QemuDriverClass.Filter,
        ["throttle"] = QemuDriverClass.Filter,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Drivers that take no creation options at all: qemu-img refuses to create an image in any of them.</summary>
    private static readonly FrozenSet<string> NoCreation = Classes
        .Where(c => c.Value is QemuDriverClass.Filter or QemuDriverClass.FormatWithoutCreate or QemuDriverClass.ReadOnlyProtocol)
        .Select(c => c.Key).ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The names of the drivers qemu-img cannot create an image in, in its list's order.</summary>
    public static IReadOnlyList<string> WithoutCreation { get; } = [.. NoCreation.Order(StringComparer.Ordinal)];

    /// <summary>Every driver name of qemu-img 7.2's list, in its order.</summary>
    public static IReadOnlyList<string> All { get; } = [.. Classes.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Whether qemu-img knows <paramref name="name"/> as a driver.</summary>
    public static bool IsKnown(string name) => Classes.ContainsKey(name);

    /// <summary>The class of the driver <paramref name="name"/>, <see cref="QemuDriverClass.Unknown"/> for a name qemu-img lacks.</summary>
    public static QemuDriverClass ClassOf(string name) => Classes.GetValueOrDefault(name, QemuDriverClass.Unknown);

    /// <summary>Whether <paramref name="name"/> is a driver qemu-img knows but cannot create an image in.</summary>
    public static bool CannotCreate(string name) => NoCreation.Contains(name);

    /// <summary>qemu-img's refusal to create an image in <paramref name="name"/> (one of <see cref="WithoutCreation"/>).</summary>
    public static string NoCreationMessage(string name) => $"Format driver '{name}' does not support image creation";

    /// <summary>
    /// qemu-img's words when a protocol without creation is asked to create an image: it tries to
    /// open the target instead, and reports why that failed after this.
    /// </summary>
    public static string OpenInsteadOfCreatePrefix(string name) =>
        $"Protocol driver '{name}' does not support image creation, and opening the image failed: ";
}
