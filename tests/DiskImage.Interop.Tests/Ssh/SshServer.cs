using System.Diagnostics;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Ssh;

/// <summary>
/// A private OpenSSH server and ssh-agent for one test class: sshd runs as the current user on a free loopback port
/// with a fresh host key, accepting only a fresh user key, which the agent holds. <c>SSH_AUTH_SOCK</c> is pointed at
/// the agent for this process (the in-process diskimg) and the tools it starts (qemu-img). Both are killed on dispose.
/// </summary>
public sealed class SshServer : IDisposable
{
    private static readonly TimeSpan s_startLimit = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();
    private readonly Process _sshd;
    private readonly Process _agent;
    private readonly string? _previousAgent = Environment.GetEnvironmentVariable("SSH_AUTH_SOCK");

    public SshServer()
    {
        var hostKey = _dir.File("host_key");
        var userKey = _dir.File("user_key");
        Keygen(hostKey);
        Keygen(userKey);
        HostKeyBlob = Convert.FromBase64String(File.ReadAllText(hostKey + ".pub").Split(' ')[1]);
        File.Copy(userKey + ".pub", _dir.File("authorized_keys"));
        Port = Loopback.FreePort();
        var config = _dir.File("sshd_config");
        File.WriteAllLines(config,
        [
            $"HostKey {hostKey}",
            $"AuthorizedKeysFile {_dir.File("authorized_keys")}",
            $"PidFile {_dir.File("sshd.pid")}",
            "ListenAddress 127.0.0.1",
            "StrictModes no",
            "UsePAM no",
            // CI runs as root: sshd then must allow root to log in.
            "PermitRootLogin yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "Subsystem sftp internal-sftp",
        ]);
        if (Environment.UserName == "root")
        {
            // sshd started by root insists on its privilege separation directory, which only its service unit makes.
            System.IO.Directory.CreateDirectory("/run/sshd");
        }

        // sshd re-executes itself, so it wants an absolute path; it logs to a file, which no pipe can fill up.
        var sshd = File.Exists("/usr/sbin/sshd") ? "/usr/sbin/sshd" : ExternalTool.Require("sshd");
        _sshd = BackgroundProcess.Start(sshd, "-D", "-f", config, "-E", _dir.File("sshd.log"), "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        AgentSocket = _dir.File("agent.sock");
        _agent = BackgroundProcess.Start(ExternalTool.Require("ssh-agent"), "-D", "-a", AgentSocket);
        WaitFor(() => File.Exists(AgentSocket), "ssh-agent");
        Environment.SetEnvironmentVariable("SSH_AUTH_SOCK", AgentSocket);
        ExternalTool.Run("ssh-add", "-q", userKey).EnsureSuccess("ssh-add");
        WaitFor(() => Loopback.Accepts(Port), "sshd");
    }

    /// <summary>The loopback port sshd listens on.</summary>
    public int Port { get; }

    /// <summary>The agent's socket (already in <c>SSH_AUTH_SOCK</c>).</summary>
    public string AgentSocket { get; }

    /// <summary>The server's host key, as the wire encodes it (what fingerprints hash).</summary>
    public byte[] HostKeyBlob { get; }

    /// <summary>A directory for the images, which the server reaches by the same path.</summary>
    public string Directory => _dir.Path;

    /// <summary>The ssh:// name of <paramref name="file"/> in <see cref="Directory"/>; the host key is not checked unless <paramref name="check"/> says how.</summary>
    public string Uri(string file, string? check = "no") =>
        $"ssh://127.0.0.1:{Port}{_dir.File(file)}" + (check is null ? "" : "?host_key_check=" + check);

    /// <summary>Runs <paramref name="action"/> with <c>SSH_AUTH_SOCK</c> set to <paramref name="socket"/> (null: unset), then restores it.</summary>
    public void WithAgent(string? socket, Action action)
    {
        Environment.SetEnvironmentVariable("SSH_AUTH_SOCK", socket);
        try
        {
            action();
        }
        finally
        {
            Environment.SetEnvironmentVariable("SSH_AUTH_SOCK", AgentSocket);
        }
    }

    private void WaitFor(Func<bool> ready, string what) =>
        Loopback.WaitFor(ready, () => _sshd.HasExited, s_startLimit, what,
            () => File.Exists(_dir.File("sshd.log")) ? File.ReadAllText(_dir.File("sshd.log")) : "");

    private static void Keygen(string path) =>
        ExternalTool.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path).EnsureSuccess("ssh-keygen");

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("SSH_AUTH_SOCK", _previousAgent);
        foreach (var process in new[] { _sshd, _agent })
        {
            try
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            process.Dispose();
        }

        _dir.Dispose();
    }
}
