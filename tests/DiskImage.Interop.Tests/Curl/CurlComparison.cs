using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Curl;

/// <summary>
/// One command line run by qemu-img (or qemu-io for <c>io</c>) and by diskimg: exit code, stdout and stderr must be
/// equal once the program name, libcurl's connect time and qemu's GLib assertion lines are normalised away.
/// </summary>
internal static partial class CurlComparison
{
    public static void AssertSame(params string[] arguments)
    {
        var theirs = arguments[0] == "io" ? ExternalTool.Run("qemu-io", arguments[1..]) : ExternalTool.Run("qemu-img", arguments);
        var ours = Diskimg.Run(arguments);
        Assert.Equal(
            (theirs.ExitCode, Normalise(theirs.StdOut), Normalise(theirs.StdErr)),
            (ours.ExitCode, Normalise(ours.StdOut), Normalise(ours.StdErr)));
    }

    /// <summary>
    /// libcurl's connect time varies; qemu's GLib assertion lines on an option error belong to its build (they are not
    /// the driver's, see docs/CONFORMANCE.md).
    /// </summary>
    private static string Normalise(string text) =>
        QemuToolOutput.Normalise(GlibLine().Replace(ConnectTime().Replace(text, "after N ms"), ""));

    [GeneratedRegex(@"after \d+ ms")]
    private static partial Regex ConnectTime();

    [GeneratedRegex(@"(?m)^[a-z-]+: GLib: .*\n")]
    private static partial Regex GlibLine();
}
