using System.Diagnostics;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>
/// A process that keeps an image open, as a running VM keeps its disk: <c>qemu-io -c length -c "sleep N"</c> or
/// <c>diskimg io</c> with the same commands. It is ready once it has printed the image's length (the image is
/// open and locked by then, which the kernel's lock table shows); disposing kills it and waits for it, within bounds, so no test leaves one behind.
/// </summary>
public sealed class ImageHolder : IDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;

    private ImageHolder(ProcessStartInfo info, string what, string image)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        _process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {what}");

        // qemu-io buffers what it prints when writing to a pipe, so readiness is read from the kernel's lock table.
        var deadline = Stopwatch.StartNew();
        while (LockTable.HeldBytes(image).Count == 0)
        {
            if (_process.HasExited || deadline.Elapsed > ReadyTimeout)
            {
                var error = _process.HasExited ? _process.StandardError.ReadToEnd() : "(no lock after a minute)";
                Dispose();
                throw new InvalidOperationException($"{what} did not open and lock {image}: {error}");
            }

            Thread.Sleep(50);
        }
    }

    /// <summary>qemu-io holding <paramref name="image"/> (read-only with <paramref name="readOnly"/>) for at most <paramref name="seconds"/>.</summary>
    public static ImageHolder QemuIo(string image, bool readOnly = false, string? format = null, int seconds = 120)
    {
        var info = new ProcessStartInfo(ExternalTool.Require("qemu-io"));
        AddCommands(info, image, readOnly, format, seconds);
        return new ImageHolder(info, "qemu-io", image);
    }

    /// <summary><c>diskimg io</c>, in its own process, holding <paramref name="image"/> for at most <paramref name="seconds"/>.</summary>
    public static ImageHolder Diskimg(string image, bool readOnly = false, string? format = null, int seconds = 120)
    {
        var info = new ProcessStartInfo(DotnetHost());
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "diskimg.dll"));
        info.ArgumentList.Add("io");
        AddCommands(info, image, readOnly, format, seconds);
        return new ImageHolder(info, "diskimg io", image);
    }

    /// <summary>Whether the holder is still running (it must be, for a refusal to mean anything).</summary>
    public bool IsRunning => !_process.HasExited;

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.WaitForExit(30_000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private static void AddCommands(ProcessStartInfo info, string image, bool readOnly, string? format, int seconds)
    {
        if (readOnly)
        {
            info.ArgumentList.Add("-r");
        }

        if (format is not null)
        {
            info.ArgumentList.Add("-f");
            info.ArgumentList.Add(format);
        }

        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("length");
        info.ArgumentList.Add("-c");

        // qemu-io's sleep counts milliseconds.
        info.ArgumentList.Add($"sleep {seconds * 1000}");
        info.ArgumentList.Add(image);
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
