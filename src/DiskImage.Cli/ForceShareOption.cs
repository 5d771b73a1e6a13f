using System.CommandLine;

namespace DiskImage.Cli;

/// <summary>
/// qemu-img's <c>-U</c>/<c>--force-share</c>: open read-only, letting other processes hold every permission
/// (a running VM's disk can be inspected). With write access qemu-img's refusal is kept.
/// </summary>
internal static class ForceShareOption
{
    public static Option<bool> Create(string what) =>
        new("-U", "--force-share") { Description = $"Open {what} read-only, sharing it with processes that write it (their writes may show as inconsistent data)" };
}
