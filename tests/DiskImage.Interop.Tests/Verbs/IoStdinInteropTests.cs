using System.Diagnostics;
using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Verbs;

/// <summary>
/// Without <c>-c</c>, qemu-io reads its commands from standard input (QEMU's test 048 and many others pipe
/// them in). <c>diskimg io</c> must run them too, printing what qemu-io prints (its prompt included) with
/// qemu-io's exit code, and leave the same image. The CLI runs as a child process with a piped stdin.
/// </summary>
public partial class IoStdinInteropTests
{
    [Theory]
    [InlineData("write -P 0x22 0 4k\n")]
    [InlineData("write -P 0x22 0 4k")]
    [InlineData("write -P 0x22 0 4k\nread -P 0x22 0 4k\n\nread -P 0x23 0 1k\n")]
    [InlineData("   write -P 0x5a 64k 128k   \nwrite -z 70k 4k\ndiscard 128k 64k\nread -P 0 70k 4k\n")]
    [InlineData("quit\nwrite -P 0x22 0 4k\n")]
    [InlineData("")]
    public void Commands_on_stdin_run_as_in_qemu_io(string input)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", theirs, "1M");
        File.Copy(theirs, ours);

        var expected = RunWithInput(ExternalTool.Require("qemu-io"), ["-f", "qcow2", theirs], input);
        var actual = RunWithInput(DotnetHost(), [Path.Combine(AppContext.BaseDirectory, "diskimg.dll"), "io", "-f", "qcow2", ours], input);

        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(Timeless(expected.StdOut), Timeless(actual.StdOut));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", theirs, ours).ExitCode);
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", theirs), ExternalTool.QemuImg("map", "--output=json", ours));
    }

    [Fact]
    public void A_piped_write_changes_the_image()
    {
        // The reported case: the write must happen, so a compare against the untouched copy finds a difference.
        using var dir = new TempDirectory();
        var image = dir.File("image.qcow2");
        var untouched = dir.File("untouched.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "1M");
        File.Copy(image, untouched);
        var run = RunWithInput(DotnetHost(), [Path.Combine(AppContext.BaseDirectory, "diskimg.dll"), "io", image], "write -P 0x22 0 4k\n");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(1, ExternalTool.Run("qemu-img", "compare", untouched, image).ExitCode);
        Assert.DoesNotContain("Pattern verification failed", ExternalTool.QemuIo("-c", "read -P 0x22 0 4k", image), StringComparison.Ordinal);
    }

    private static ExternalTool.Result RunWithInput(string program, string[] arguments, string input)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"{program} did not finish");
        return new ExternalTool.Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>The statistics lines carry times and rates that differ from run to run.</summary>
    private static string Timeless(string output) => Timing().Replace(output, "TIME");

    [GeneratedRegex(@"\d+\.\d+ sec \([^)]*\)")]
    private static partial Regex Timing();
}
