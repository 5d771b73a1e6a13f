using System.CommandLine;

namespace DiskImage.Cli;

/// <summary>
/// <c>--untrusted</c>: inspect an uploaded image safely. Images that name backing files, external data
/// files or unknown header extensions are refused instead of followed.
/// </summary>
internal static class UntrustedOption
{
    public static Option<bool> Create() => new("--untrusted")
    {
        Description = "Refuse images that name backing files, external data files or unknown header extensions",
    };
}
