using System.Globalization;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// How a client that cannot agree on TLS with the server fails: a plain client at a TLS server, a TLS client at a
/// plain server, a server certificate from an unknown CA, a client the server's tls-authz refuses. qemu-img and
/// diskimg run the same command line against the same server (qemu-nbd, and diskimg's own where it has the feature)
/// and must print the same.
/// </summary>
public class NbdTlsClientErrorTests
{
    [Theory]
    [InlineData("qemu-nbd")]
    [InlineData("diskimg")]
    public void Tls_mismatches_fail_with_qemu_img_messages(string serverTool)
    {
        using var dir = new TempDirectory();
        var server = Directory.CreateDirectory(dir.File("server")).FullName;
        var client = Directory.CreateDirectory(dir.File("client")).FullName;
        var stranger = Directory.CreateDirectory(dir.File("stranger")).FullName;
        NbdTlsTests.MakeCa(dir, "ca", server, client);
        NbdTlsTests.MakeCert(dir, "ca", server, "server", "cn = localhost\nip_address = 127.0.0.1\ndns_name = localhost\ntls_www_server\nencryption_key\nsigning_key\n");
        NbdTlsTests.MakeCert(dir, "ca", client, "client", "cn = client\ntls_www_client\nencryption_key\nsigning_key\n");
        NbdTlsTests.MakeCa(dir, "other", stranger);
        NbdTlsTests.MakeCert(dir, "other", stranger, "client", "cn = stranger\ntls_www_client\nencryption_key\nsigning_key\n");

        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-f", "raw", image, "1M");
        var tlsPort = Loopback.FreePort();
        using var tls = Start(serverTool, tlsPort, image, "--object", $"tls-creds-x509,id=tls0,dir={server},endpoint=server,verify-peer=on", "--tls-creds", "tls0");
        var plainPort = Loopback.FreePort();
        using var plain = Start(serverTool, plainPort, image);

        string Address(int port) => $"driver=nbd,host=127.0.0.1,port={port.ToString(CultureInfo.InvariantCulture)}";
        string[][] cases =
        [
            ["info", $"nbd://127.0.0.1:{tlsPort.ToString(CultureInfo.InvariantCulture)}"],
            ["info", "--image-opts", Address(tlsPort)],
            ["info", "--object", $"tls-creds-x509,id=c,dir={client},endpoint=client", "--image-opts", Address(plainPort) + ",tls-creds=c"],
            ["info", "--object", $"tls-creds-x509,id=c,dir={stranger},endpoint=client", "--image-opts", Address(tlsPort) + ",tls-creds=c"],
            ["info", "--object", $"tls-creds-x509,id=c,dir={client},endpoint=client", "--image-opts", Address(tlsPort) + ",tls-creds=c"],
        ];
        foreach (var arguments in cases)
        {
            AssertSame(arguments);
        }
    }

    [Fact]
    public void A_client_refused_by_tls_authz_fails_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        var server = Directory.CreateDirectory(dir.File("server")).FullName;
        var client = Directory.CreateDirectory(dir.File("client")).FullName;
        NbdTlsTests.MakeCa(dir, "ca", server, client);
        NbdTlsTests.MakeCert(dir, "ca", server, "server", "cn = localhost\nip_address = 127.0.0.1\ndns_name = localhost\ntls_www_server\nencryption_key\nsigning_key\n");
        NbdTlsTests.MakeCert(dir, "ca", client, "client", "cn = client\ntls_www_client\nencryption_key\nsigning_key\n");
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-f", "raw", image, "1M");
        var port = Loopback.FreePort();
        using var nbd = Start("qemu-nbd", port, image, "--object", $"tls-creds-x509,id=tls0,dir={server},endpoint=server,verify-peer=on",
            "--object", "authz-simple,id=authz0,identity=CN=somebody-else", "--tls-authz", "authz0", "--tls-creds", "tls0");

        AssertSame(["info", "--object", $"tls-creds-x509,id=c,dir={client},endpoint=client", "--image-opts",
            $"driver=nbd,host=127.0.0.1,port={port.ToString(CultureInfo.InvariantCulture)},tls-creds=c"]);
    }

    /// <summary>tls-creds-psk: the right key reads the export, a wrong key or an unknown user fails as qemu-img fails.</summary>
    [Fact]
    public void Psk_credentials_connect_and_fail_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        var server = Directory.CreateDirectory(dir.File("server")).FullName;
        var good = Directory.CreateDirectory(dir.File("good")).FullName;
        var wrong = Directory.CreateDirectory(dir.File("wrong")).FullName;
        var key = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        File.WriteAllText(Path.Combine(server, "keys.psk"), $"psk1:{key}\n");
        File.WriteAllText(Path.Combine(good, "keys.psk"), $"psk1:{key}\n");
        File.WriteAllText(Path.Combine(wrong, "keys.psk"), $"psk1:{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))}\n");
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-f", "raw", image, "1M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x33 0 64k", image);
        var socket = dir.File("p.sock");
        using var nbd = NbdProcess.Tool("qemu-nbd", socket, 0, "-t", "-f", "raw", "-k", socket,
            "--object", $"tls-creds-psk,id=tls0,dir={server},endpoint=server", "--tls-creds", "tls0", image);

        string Options(string extra = "") => $"driver=nbd,path={socket},tls-creds=c{extra}";
        AssertSame(["info", "--object", $"tls-creds-psk,id=c,dir={good},username=psk1,endpoint=client", "--image-opts", Options()]);
        AssertSame(["info", "--object", $"tls-creds-psk,id=c,dir={wrong},username=psk1,endpoint=client", "--image-opts", Options()]);
        AssertSame(["info", "--object", $"tls-creds-psk,id=c,dir={good},username=nobody,endpoint=client", "--image-opts", Options()]);

        string[] io = ["--object", $"tls-creds-psk,id=c,dir={good},username=psk1,endpoint=client", "--image-opts", Options(),
            "-c", "read -P 0x33 0 64k", "-c", "write -P 0x44 64k 64k", "-c", "read -P 0x44 64k 64k"];
        var theirs = ExternalTool.Run("qemu-io", io);
        var ours = Diskimg.Run(["io", .. io]);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(0, ours.ExitCode);
    }

    private static NbdProcess Start(string tool, int port, string image, params string[] extra)
    {
        string[] arguments = ["-t", "-r", "-f", "raw", "-p", port.ToString(CultureInfo.InvariantCulture), .. extra, image];
        return tool == "diskimg" ? NbdProcess.Diskimg(null, port, arguments) : NbdProcess.Tool(tool, null, port, arguments);
    }

    private static void AssertSame(string[] arguments)
    {
        var theirs = ExternalTool.Run("qemu-img", arguments);
        var ours = Diskimg.Run(arguments);
        var what = string.Join(' ', arguments);
        Assert.True(theirs.StdOut == ours.StdOut, $"{what}\nqemu-img: {theirs.StdOut}\ndiskimg: {ours.StdOut}");
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.True(theirs.ExitCode == ours.ExitCode, $"{what}: qemu-img {theirs.ExitCode}, diskimg {ours.ExitCode}");
    }
}
