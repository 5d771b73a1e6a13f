using DiskImage.Cli;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>Runs the <c>diskimg</c> command line in-process and captures what it prints.</summary>
public static class Diskimg
{
    // Every command tree has its own option objects, but the CLI is written for one command line per
    // process; in-process runs still take turns so nothing process-wide is ever shared by two of them.
    private static readonly Lock s_oneAtATime = new();

    public static ExternalTool.Result Run(params string[] arguments)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exitCode;
        lock (s_oneAtATime)
        {
            exitCode = DiskImageCli.Run(arguments, stdout, stderr);
        }

        return new ExternalTool.Result(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs and requires exit code 0.</summary>
    public static string Ok(params string[] arguments) => Run(arguments).EnsureSuccess("diskimg " + string.Join(' ', arguments)).StdOut;
}
