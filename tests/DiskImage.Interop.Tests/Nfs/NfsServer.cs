using System.Diagnostics;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nfs;

/// <summary>
/// One nfs-ganesha server (VFS backend, NFSv3 over TCP) with rpcbind, for every NFS test class: the portmapper and the
/// NFS and MOUNT ports are machine-wide, so there is one. Its export is a fixed directory, emptied before the server
/// starts; a server a killed run left behind (found by its pid file) is stopped first. rpcbind is started only when
/// nothing answers on port 111, and stopped again only then.
/// </summary>
public sealed class NfsServer : IDisposable
{
    /// <summary>Where the server's files live; fixed, so that a run can find what an earlier one left running.</summary>
    private const string Root = "/tmp/diskimg-nfs-tests";

    private static readonly TimeSpan s_startLimit = TimeSpan.FromSeconds(60);
    private readonly Process? _rpcbind;
    private readonly Process _ganesha;

    public NfsServer()
    {
        var pidFile = Path.Combine(Root, "ganesha.pid");
        StopLeftover(pidFile);
        if (System.IO.Directory.Exists(Root))
        {
            System.IO.Directory.Delete(Root, recursive: true);
        }

        System.IO.Directory.CreateDirectory(Directory);
        if (!Loopback.Accepts(111))
        {
            _rpcbind = BackgroundProcess.Start(Tool("rpcbind"), "-f", "-w");
            WaitFor(() => Loopback.Accepts(111), "rpcbind", null);
        }

        var config = Path.Combine(Root, "ganesha.conf");
        File.WriteAllLines(config,
        [
            "NFS_CORE_PARAM { Protocols = 3; NFS_Port = 2049; MNT_Port = 20048; Enable_NLM = false; Enable_RQUOTA = false; }",
            $"EXPORT {{ Export_Id = 1; Path = {Directory}; Pseudo = {Directory}; Access_Type = RW; Squash = No_Root_Squash;",
            "         Protocols = 3; Transports = TCP; SecType = sys; FSAL { Name = VFS; } }",
        ]);
        var log = Path.Combine(Root, "ganesha.log");
        _ganesha = BackgroundProcess.Start(Tool("ganesha.nfsd"), "-F", "-f", config, "-L", log, "-p", pidFile);
        WaitFor(Serves, "ganesha.nfsd", log);
    }

    /// <summary>The exported directory, which the server serves by the same path.</summary>
    public string Directory { get; } = Path.Combine(Root, "export");

    /// <summary>The nfs:// name of <paramref name="file"/> in the export.</summary>
    public string Url(string file) => $"nfs://127.0.0.1{Directory}/{file}";

    /// <summary>A file name no earlier test used (the server caches names; a file removed behind its back goes stale).</summary>
    public static string Fresh(string suffix) => $"{Guid.NewGuid():N}".Substring(0, 12) + suffix;

    private static string Tool(string name) =>
        File.Exists("/usr/sbin/" + name) ? "/usr/sbin/" + name : File.Exists("/usr/bin/" + name) ? "/usr/bin/" + name : ExternalTool.Require(name);

    /// <summary>Ready when qemu-img can read a file through the export (ganesha takes a few seconds after it listens).</summary>
    private bool Serves()
    {
        if (!Loopback.Accepts(2049))
        {
            return false;
        }

        var probe = Path.Combine(Directory, "ready.raw");
        if (!File.Exists(probe))
        {
            File.WriteAllBytes(probe, new byte[512]);
        }

        return ExternalTool.Run("qemu-img", "info", Url("ready.raw")).ExitCode == 0;
    }

    private static void StopLeftover(string pidFile)
    {
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
        {
            return;
        }

        try
        {
            using var leftover = Process.GetProcessById(pid);
            if (leftover.ProcessName.StartsWith("ganesha", StringComparison.Ordinal))
            {
                leftover.Kill();
                leftover.WaitForExit(10_000);
            }
        }
        catch (ArgumentException)
        {
            // Not running any more.
        }
    }

    private void WaitFor(Func<bool> ready, string what, string? log) =>
        Loopback.WaitFor(ready, () => (_ganesha?.HasExited ?? false) || (_rpcbind?.HasExited ?? false), s_startLimit, what,
            () => log is not null && File.Exists(log) ? File.ReadAllText(log) : "");

    public void Dispose()
    {
        foreach (var process in new[] { _ganesha, _rpcbind })
        {
            if (process is null)
            {
                continue;
            }

            try
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            process.Dispose();
        }
    }
}

/// <summary>Every NFS test class shares the one server.</summary>
[CollectionDefinition(Name)]
public sealed class NfsCollection : ICollectionFixture<NfsServer>
{
    public const string Name = "NFS server";
}
