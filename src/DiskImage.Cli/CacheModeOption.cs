using System.CommandLine;

namespace DiskImage.Cli;

/// <summary>
/// qemu-img's <c>-t</c> (image cache mode) and <c>-T</c> (source cache mode), checked as qemu-img checks them. diskimg
/// goes through the page cache and flushes where the mode requires it; <c>none</c> and <c>directsync</c> reach the
/// nodes as <c>cache.direct=on</c> (which an nfs node with readahead or page cache refuses, as QEMU's does).
/// </summary>
internal static class CacheModeOption
{
    public static Option<string?> Create(string name, string description) => new(name) { Description = description };

    /// <summary>Whether the mode opens the nodes with <c>cache.direct=on</c> (QEMU's BDRV_O_NOCACHE).</summary>
    public static bool IsDirect(string? value) => DiskImage.Operations.Io.QemuIoOpenModes.IsDirect(value);

    /// <summary>The value, or qemu-img's refusal ("Invalid cache option: X" / "Invalid source cache option: X").</summary>
    public static string? Validate(string? value, bool source) => value switch
    {
        null or "none" or "off" or "directsync" or "writeback" or "unsafe" or "writethrough" => value,
        _ => throw new InvalidOptionException(source ? $"Invalid source cache option: {value}" : $"Invalid cache option: {value}"),
    };
}
