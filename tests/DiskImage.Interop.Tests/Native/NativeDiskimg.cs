using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Native;

/// <summary>
/// The Native AOT <c>diskimg</c> that <c>./build.sh</c> leaves in <c>out/</c> (or the one <c>DISKIMG_NATIVE</c> names),
/// run as a process: what users run. Trimming and AOT compilation can break what the in-process, JIT-compiled
/// runs of the other tests never see, so a missing binary fails the tests rather than skipping them.
/// </summary>
public static class NativeDiskimg
{
    public static string Path { get; } = Locate();

    public static ExternalTool.Result Run(params string[] arguments) => ExternalTool.RunIn(null, Require(), arguments);

    /// <summary>Runs and requires exit code 0.</summary>
    public static string Ok(params string[] arguments) =>
        Run(arguments).EnsureSuccess("native diskimg " + string.Join(' ', arguments)).StdOut;

    private static string Require() =>
        File.Exists(Path)
            ? Path
            : throw new InvalidOperationException($"The native diskimg is missing at {Path}; run ./build.sh (test.sh does) or set DISKIMG_NATIVE.");

    private static string Locate()
    {
        var configured = Environment.GetEnvironmentVariable("DISKIMG_NATIVE");
        if (!string.IsNullOrEmpty(configured))
        {
            return System.IO.Path.GetFullPath(configured);
        }

        // The test assembly runs from tests/DiskImage.Interop.Tests/bin/...; the repository root holds DiskImage.slnx.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "DiskImage.slnx")))
            {
                return System.IO.Path.Combine(dir.FullName, "out", "diskimg");
            }
        }

        throw new InvalidOperationException($"No DiskImage.slnx above {AppContext.BaseDirectory}; set DISKIMG_NATIVE to the native diskimg.");
    }
}
