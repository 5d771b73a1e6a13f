using System.CommandLine;

namespace DiskImage.Cli;

/// <summary>
/// qemu-img's <c>-t</c> (image cache mode) and <c>-T</c> (source cache mode). diskimg always goes through the page
/// cache and flushes where the mode requires it, so the value changes no result; it is checked as qemu-img checks it.
/// </summary>
internal static class CacheModeOption
{
    public static Option<string?> Create(string name, string description) => new(name) { Description = description };

    /// <summary>The value, or qemu-img's refusal ("Invalid cache option: X" / "Invalid source cache option: X").</summary>
    public static string? Validate(string? value, bool source) => value switch
    {
        null or "none" or "off" or "directsync" or "writeback" or "unsafe" or "writethrough" => value,
        _ => throw new InvalidOptionException(source ? $"Invalid source cache option: {value}" : $"Invalid cache option: {value}"),
    };
}
