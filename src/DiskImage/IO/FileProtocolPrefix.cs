namespace DiskImage.IO;

/// <summary>
/// QEMU's explicit <c>file:</c> protocol prefix (<c>file:dir/a:b.qcow2</c>), which lets a name whose first
/// colon comes before any slash be taken as a plain file name. The prefix is dropped before the file is
/// opened or created; what is left would itself look like a protocol prefix when it still has such a colon,
/// so, as QEMU, it becomes relative to the current directory (<c>./image:top.qcow2</c>), which is also the
/// name the opened image reports.
/// </summary>
internal static class FileProtocolPrefix
{
    private const string Prefix = "file:";

    /// <summary>The file name <paramref name="name"/> stands for: itself unless it starts with <c>file:</c>.</summary>
    public static string Strip(string name)
    {
        if (!name.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return name;
        }

        var rest = name[Prefix.Length..];
        return HasProtocol(rest) ? "./" + rest : rest;
    }

    /// <summary>True when a colon comes before the first slash, which QEMU reads as a protocol prefix.</summary>
    private static bool HasProtocol(string name)
    {
        var stop = name.AsSpan().IndexOfAny(':', '/');
        return stop >= 0 && name[stop] == ':';
    }
}
