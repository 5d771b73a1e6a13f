using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// <c>diskimg nbd</c> serving over TLS with a pre-shared key (<c>tls-creds-psk,endpoint=server</c>): qemu's client
/// (qemu-img, qemu-io) and libnbd's (nbdinfo) connect with the right key, and a wrong key or an unknown user
/// fails exactly as it fails against qemu-nbd with the same credentials.
/// </summary>
public class NbdPskServerTests
{
    [Fact]
    public void Qemu_clients_and_nbdinfo_see_the_same_against_qemu_nbd_and_diskimg()
    {
        using var dir = new TempDirectory();
        var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var server = Directory.CreateDirectory(dir.File("server")).FullName;
        var good = Directory.CreateDirectory(dir.File("good")).FullName;
        var wrong = Directory.CreateDirectory(dir.File("wrong")).FullName;
        File.WriteAllText(Path.Combine(server, "keys.psk"), $"other:{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}\npsk1:{key}\n");
        File.WriteAllText(Path.Combine(good, "keys.psk"), $"psk1:{key}\nnobody:{key}\n");
        File.WriteAllText(Path.Combine(wrong, "keys.psk"), $"psk1:{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}\n");

        var theirs = Serve(dir, "qemu-nbd", server, good, wrong);
        var ours = Serve(dir, "diskimg", server, good, wrong);
        Assert.Equal(theirs.Count, ours.Count);
        for (var i = 0; i < theirs.Count; i++)
        {
            Assert.Equal(theirs[i], ours[i]);
        }

        // The right key really got through, on both servers (not two identical refusals).
        Assert.Contains("virtual size: 1 MiB", theirs[0], StringComparison.Ordinal);
        Assert.Contains("read 65536/65536", theirs[3], StringComparison.Ordinal);
        Assert.Contains("1048576", theirs[4], StringComparison.Ordinal);
    }

    [Fact]
    public void A_server_without_keys_psk_is_refused_as_qemu_nbd_refuses_it()
    {
        using var dir = new TempDirectory();
        var empty = Directory.CreateDirectory(dir.File("empty")).FullName;
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-f", "raw", image, "1M");
        string[] arguments = ["-f", "raw", "-k", dir.File("s.sock"), "--object", $"tls-creds-psk,id=tls0,dir={empty},endpoint=server", "--tls-creds", "tls0", image];
        var theirs = ExternalTool.Run("qemu-nbd", arguments);
        var ours = Diskimg.Run(["nbd", .. arguments]);
        Assert.NotEqual(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-nbd: ", "PROG: ", StringComparison.Ordinal), QemuToolOutput.Normalise(ours.StdErr));
    }

    /// <summary>Runs every client case against <paramref name="tool"/>'s server on a fresh image; outputs with the socket path replaced.</summary>
    private static List<string> Serve(TempDirectory dir, string tool, string server, string good, string wrong)
    {
        var image = dir.File($"{tool}.raw");
        ExternalTool.QemuImg("create", "-f", "raw", image, "1M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x33 0 64k", image);
        var socket = dir.File($"{tool}.sock");
        string[] arguments = ["-t", "-f", "raw", "-k", socket, "--object", $"tls-creds-psk,id=tls0,dir={server},endpoint=server", "--tls-creds", "tls0", image];
        using var nbd = tool == "diskimg" ? NbdProcess.Diskimg(socket, 0, arguments) : NbdProcess.Tool(tool, socket, 0, arguments);

        string Client(string clientDir, string user) => $"tls-creds-psk,id=c,dir={clientDir},username={user},endpoint=client";
        var options = $"driver=nbd,path={socket},tls-creds=c";
        var outputs = new List<string>
        {
            Run("qemu-img", "info", "--object", Client(good, "psk1"), "--image-opts", options),
            Run("qemu-img", "info", "--object", Client(wrong, "psk1"), "--image-opts", options),
            Run("qemu-img", "info", "--object", Client(good, "nobody"), "--image-opts", options),
            Run("qemu-io", "--object", Client(good, "psk1"), "--image-opts", options,
                "-c", "read -P 0x33 0 64k", "-c", "write -P 0x44 64k 64k", "-c", "read -P 0x44 64k 64k"),
        };

        var goodFile = Path.Combine(good, "keys.psk");
        outputs.Add(Run("nbdinfo", "--size", $"nbds+unix://psk1@/?socket={socket}&tls-psk-file={goodFile}"));
        outputs.Add(Run("nbdinfo", "--size", $"nbds+unix://psk1@/?socket={socket}&tls-psk-file={Path.Combine(wrong, "keys.psk")}"));
        outputs.Add(Run("nbdinfo", "--size", $"nbds+unix://nobody@/?socket={socket}&tls-psk-file={goodFile}"));

        // A refused client costs the server nothing: it still serves the next one.
        Assert.False(nbd.HasExited);
        outputs.Add(Run("qemu-io", "--object", Client(good, "psk1"), "--image-opts", options, "-r", "-c", "read -P 0x44 64k 64k"));
        return [.. outputs.Select(o => o.Replace(socket, "SOCKET", StringComparison.Ordinal))];
    }

    private static string Run(string tool, params string[] arguments)
    {
        var result = ExternalTool.Run(tool, arguments);
        return $"{tool} {string.Join(' ', arguments)}\nexit {result.ExitCode}\n{QemuToolOutput.Normalise(result.StdOut)}{QemuToolOutput.Normalise(result.StdErr)}";
    }
}
