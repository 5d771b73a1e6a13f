using DiskImage.Options;

namespace DiskImage.IO.Ssh;

/// <summary>
/// A relative backing file name in an image over SSH, resolved as QEMU resolves it: beside the image on the same
/// server, by the image node's name (<see cref="SshTarget.NodeName"/>, which always names the user) up to its last
/// slash. A node opened with a legacy <c>host_key_check</c> has no such directory: its name would end in a query.
/// </summary>
internal static class SshBackingName
{
    /// <summary>QEMU's refusal for a node whose name carries a <c>host_key_check</c> query.</summary>
    public const string NoBaseDirectory = "Cannot generate a base directory with host_key_check set";

    /// <summary>Whether <paramref name="backingName"/> is resolved on the server of <paramref name="overlayName"/>.</summary>
    public static bool Applies(string overlayName, string backingName) =>
        SshNode.IsSshUri(overlayName) && !Formats.Qcow2.Qcow2Image.IsAbsoluteName(backingName);

    /// <summary>The <c>ssh://</c> name of <paramref name="backingName"/> beside the image, or null when the image's node has no base directory.</summary>
    public static string? TryResolve(string overlayName, string backingName)
    {
        var node = SshNode.FromUri(overlayName);
        return node.LegacyHostKeyCheck is null ? Curl.CurlUrl.Sibling(node.NodeName, backingName) : null;
    }

    /// <summary>As <see cref="TryResolve"/>, refusing in QEMU's words where there is no base directory.</summary>
    /// <exception cref="ImageAccessException">The image was opened with a legacy <c>host_key_check</c>.</exception>
    public static string Resolve(string overlayName, string backingName) =>
        TryResolve(overlayName, backingName) ?? throw new ImageAccessException(NoBaseDirectory);
}
