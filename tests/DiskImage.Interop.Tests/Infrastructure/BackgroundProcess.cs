using System.Diagnostics;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>Starts a server the tests run beside them, its output read and dropped so no full pipe can stall it.</summary>
public static class BackgroundProcess
{
    public static Process Start(string tool, params string[] arguments)
    {
        var info = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {tool}");
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return process;
    }
}
