using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>
/// The built <c>diskimg</c> as a real child process, optionally on a pseudo-terminal (so it draws its progress
/// display as it would for a user), and signals sent to it.
/// </summary>
public sealed partial class DiskimgProcess : IDisposable
{
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    private readonly Process _process;
    private readonly SafeFileHandle? _master;
    private readonly SafeFileHandle? _slave;
    private readonly MemoryStream _terminal = new();
    private readonly Thread? _reader;
    private readonly Task<string> _stderr;

    private DiskimgProcess(string workingDirectory, bool onTerminal, string shellSetup, string[] arguments)
    {
        var info = new ProcessStartInfo("/bin/bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = !onTerminal,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.Environment["TERM"] = "xterm-256color";
        info.ArgumentList.Add("-c");
        if (onTerminal)
        {
            (_master, _slave, var slaveName) = OpenTerminal();
            // All three standard streams on the terminal, as for a user typing the command.
            info.ArgumentList.Add($"{shellSetup} exec env --default-signal=INT \"$@\" <'{slaveName}' >'{slaveName}' 2>'{slaveName}'");
            _reader = new Thread(ReadTerminal) { IsBackground = true };
        }
        else
        {
            info.ArgumentList.Add($"{shellSetup} exec env --default-signal=INT \"$@\"");
        }

        // env --default-signal: a test run started as a background job inherits SIGINT ignored, and an ignored
        // signal stays ignored across exec, so diskimg would never see the SIGINT the tests send.
        info.ArgumentList.Add("sh");
        info.ArgumentList.Add(DotnetHost());
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "diskimg.dll"));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info)!;
        _reader?.Start();
        _stderr = onTerminal ? Task.FromResult("") : _process.StandardError.ReadToEndAsync();
    }

    /// <summary>Starts <c>diskimg ARGUMENTS</c> in <paramref name="workingDirectory"/>.</summary>
    public static DiskimgProcess Start(string workingDirectory, bool onTerminal, params string[] arguments) =>
        new(workingDirectory, onTerminal, "", arguments);

    /// <summary>Starts <c>diskimg ARGUMENTS</c> after the bash commands <paramref name="shellSetup"/> (limits, traps; end with <c>;</c>).</summary>
    public static DiskimgProcess StartAfter(string shellSetup, string workingDirectory, params string[] arguments) =>
        new(workingDirectory, false, shellSetup, arguments);

    public bool HasExited => _process.HasExited;

    /// <summary>Bytes written to the terminal so far (stdout and stderr when they are on a terminal).</summary>
    public byte[] TerminalBytes
    {
        get
        {
            lock (_terminal)
            {
                return _terminal.ToArray();
            }
        }
    }

    /// <summary>Sends a signal (SIGINT, SIGTERM, SIGKILL) to the process.</summary>
    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0 && !_process.HasExited)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits for the exit; returns the exit code (128 + N when killed by signal N), stdout and stderr (or the terminal's text).</summary>
    public ExternalTool.Result WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill();
            throw new TimeoutException("diskimg did not exit in time");
        }

        _process.WaitForExit();
        var stdout = _process.StandardOutput.ReadToEnd();
        if (_reader is not null)
        {
            // Our own slave handle keeps reads from failing early; closing it lets the reader see the end.
            _slave!.Dispose();
            _reader.Join(TimeSpan.FromSeconds(10));
        }

        var stderr = _reader is null ? _stderr.GetAwaiter().GetResult() : Encoding.UTF8.GetString(TerminalBytes);
        return new ExternalTool.Result(_process.ExitCode, stdout, stderr);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
        _slave?.Dispose();
        _reader?.Join(TimeSpan.FromSeconds(5));
        _master?.Dispose();
    }

    private void ReadTerminal()
    {
        var buffer = new byte[4096];
        while (true)
        {
            int n;
            try
            {
                n = RandomAccessRead(_master!, buffer);
            }
            catch (IOException)
            {
                return;
            }

            if (n <= 0)
            {
                return;
            }

            lock (_terminal)
            {
                _terminal.Write(buffer, 0, n);
            }
        }
    }

    private static int RandomAccessRead(SafeFileHandle handle, byte[] buffer)
    {
        var n = Read(handle.DangerousGetHandle().ToInt32(), buffer, buffer.Length);
        return n < 0 ? throw new IOException("terminal closed") : (int)n;
    }

    private static (SafeFileHandle Master, SafeFileHandle Slave, string SlaveName) OpenTerminal()
    {
        const int ReadWrite = 2;
        const int NoControllingTerminal = 0x100;
        var fd = PosixOpenPt(ReadWrite | NoControllingTerminal);
        if (fd < 0 || GrantPt(fd) != 0 || UnlockPt(fd) != 0)
        {
            throw new InvalidOperationException($"no pseudo-terminal: errno {Marshal.GetLastPInvokeError()}");
        }

        var name = new byte[256];
        if (PtsNameR(fd, name, name.Length) != 0)
        {
            throw new InvalidOperationException($"ptsname_r failed: errno {Marshal.GetLastPInvokeError()}");
        }

        var slaveName = Encoding.ASCII.GetString(name, 0, Array.IndexOf(name, (byte)0));
        var slave = File.OpenHandle(slaveName, FileMode.Open, FileAccess.ReadWrite);
        return (new SafeFileHandle(fd, ownsHandle: true), slave, slaveName);
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
    private static partial int PosixOpenPt(int flags);

    [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
    private static partial int GrantPt(int fd);

    [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
    private static partial int UnlockPt(int fd);

    [LibraryImport("libc", EntryPoint = "ptsname_r", SetLastError = true)]
    private static partial int PtsNameR(int fd, [Out] byte[] buffer, nint length);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, [Out] byte[] buffer, nint count);
}
