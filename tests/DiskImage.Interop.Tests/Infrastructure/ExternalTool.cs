using System.Diagnostics;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>Runs qemu-img, qemu-io, xorriso and friends, the judges of what we write.</summary>
public static class ExternalTool
{
    /// <summary>The result of one run.</summary>
    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public Result EnsureSuccess(string what)
        {
            if (ExitCode != 0)
            {
                throw new InvalidOperationException($"{what} exited {ExitCode}: {StdErr}{StdOut}");
            }

            return this;
        }
    }

    /// <summary>
    /// Fails the test when <paramref name="tool"/> is not installed. The test command installs every tool,
    /// so a missing one is a broken machine, in CI and locally alike.
    /// </summary>
    public static string Require(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"'{tool}' is not installed; run ./test.sh, which installs it.");
    }

    /// <summary>
    /// Runs a tool with arguments (no shell) and captures its output. QEMU's PBKDF2 calibration (LUKS create and amend)
    /// sometimes measures zero CPU time for its first round and gives up with "Unable to get accurate CPU usage", a
    /// known QEMU flaw that says nothing about our code, so such runs are retried a few times, with growing pauses.
    /// A lock conflict is also retried a few times: this test process forks tools from many threads at once, and a
    /// child that has not yet reached exec holds copies of every descriptor the library had open, locks included, so a
    /// file the library has just closed can look held for a moment. A lock really held is still held on the last try.
    /// </summary>
    public static Result Run(string tool, params string[] arguments) => RunIn(null, tool, arguments);

    /// <summary>Runs a tool in a working directory, with <see cref="Run"/>'s retries.</summary>
    public static Result RunIn(string? workingDirectory, string tool, params string[] arguments)
    {
        var result = RunOnce(workingDirectory, tool, arguments);
        for (var retry = 1; retry <= 10 && IsCalibrationFailure(tool, result); retry++)
        {
            // A loaded machine keeps failing the calibration if asked again at once: wait a little longer each time.
            Thread.Sleep(100 * retry);
            result = RunOnce(workingDirectory, tool, arguments);
        }

        for (var retry = 1; retry <= 3 && IsLockConflict(tool, result); retry++)
        {
            Thread.Sleep(200 * retry);
            result = RunOnce(workingDirectory, tool, arguments);
        }

        return result;
    }

    private static bool IsLockConflict(string tool, Result result) =>
        result.ExitCode != 0
        && tool.StartsWith("qemu-", StringComparison.Ordinal)
        && result.StdErr.Contains("Is another process using the image", StringComparison.Ordinal);

    private static bool IsCalibrationFailure(string tool, Result result) =>
        result.ExitCode != 0
        && tool.StartsWith("qemu-", StringComparison.Ordinal)
        && result.StdErr.Contains("Unable to get accurate CPU usage", StringComparison.Ordinal);

    private static Result RunOnce(string? workingDirectory, string tool, string[] arguments)
    {
        var info = new ProcessStartInfo(Require(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {tool}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} did not finish within 5 minutes");
        }

        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs qemu-img and requires success. A quiet LUKS create may be served by <see cref="LuksCreateCache"/>.</summary>
    public static string QemuImg(params string[] arguments) =>
        LuksCreateCache.TryCreate(arguments) ? "" : Run("qemu-img", arguments).EnsureSuccess("qemu-img " + string.Join(' ', arguments)).StdOut;

    /// <summary>Runs qemu-io and requires success (qemu-io reports pattern mismatches on stdout with exit 0, so callers check the text).</summary>
    public static string QemuIo(params string[] arguments) => Run("qemu-io", arguments).EnsureSuccess("qemu-io " + string.Join(' ', arguments)).StdOut;
}
