namespace DiskImage.IO;

/// <summary>
/// QEMU's protocol prefix of a file name: the text before a colon that comes before any slash. QEMU picks the
/// protocol driver by it (the name of a file in the working directory with such a colon must be given as <c>./a:b</c>
/// or <c>file:a:b</c>), and refuses a prefix no driver answers to.
/// </summary>
internal static class ProtocolName
{
    /// <summary>The prefixes QEMU 7.2's protocol drivers answer to.</summary>
    private static readonly HashSet<string> s_known = new(StringComparer.Ordinal)
    {
        "blkdebug", "blkverify", "fat", "file", "ftp", "ftps", "gluster", "gluster+rdma", "gluster+tcp", "gluster+unix",
        "host_cdrom", "host_device", "http", "https", "iscsi", "iser", "nbd", "nbd+tcp", "nbd+unix", "nfs", "null-aio",
        "null-co", "nvme", "rbd", "ssh",
    };

    /// <summary>QEMU copies at most this many characters of the prefix (its buffer is 128 bytes).</summary>
    private const int MaxLength = 127;

    /// <summary>The name's protocol prefix, or null when a slash comes before any colon (or there is no colon).</summary>
    public static string? Of(string name)
    {
        var end = name.AsSpan().IndexOfAny(':', '/');
        return end >= 0 && name[end] == ':' ? name[..Math.Min(end, MaxLength)] : null;
    }

    public static bool IsKnown(string protocol) => s_known.Contains(protocol);

    /// <summary>
    /// Why QEMU refuses to create an image at <paramref name="name"/> before formatting anything: a prefix no protocol
    /// driver answers to (<c>json:</c> among them, which names an open, not a creation), a protocol driver that has
    /// no creation at all, or a curl URL; null otherwise.
    /// </summary>
    public static string? CreationRefusal(string name) => Of(name) switch
    {
        { } protocol when !IsKnown(protocol) => $"Unknown protocol '{protocol}'",
        { } protocol when WithoutCreation(protocol) is { } driver => $"Protocol driver '{driver}' does not support image creation",
        _ => Curl.CurlUrl.CreationRefusal(name),
    };

    /// <summary>The driver a prefix picks when that driver has no creation (qemu-img refuses before its Formatting
    /// line, where the host and network drivers open the target instead); null otherwise.</summary>
    private static string? WithoutCreation(string protocol) => protocol switch
    {
        "null-co" or "null-aio" or "blkdebug" or "blkverify" => protocol,
        "fat" => "vvfat",
        _ => null,
    };

    /// <summary>The remote driver a prefix selects among those opened as a whole node here (gluster's four, and the
    /// protocols this library refuses by name), or null.</summary>
    public static string? RemoteDriver(string protocol) => protocol switch
    {
        "gluster" or "gluster+tcp" or "gluster+unix" or "gluster+rdma" => "gluster",
        "rbd" or "nvme" => protocol,
        _ => null,
    };
}
