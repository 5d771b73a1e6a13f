using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>TLS with certificates made by certtool: qemu-img connects with them, plaintext and strangers are refused.</summary>
public class NbdTlsTests
{
    [Fact]
    public void Qemu_img_connects_with_tls_and_others_are_refused()
    {
        using var dir = new TempDirectory();
        var server = Directory.CreateDirectory(dir.File("server")).FullName;
        var client = Directory.CreateDirectory(dir.File("client")).FullName;
        var stranger = Directory.CreateDirectory(dir.File("stranger")).FullName;
        MakeCa(dir, "ca", server, client);
        MakeCert(dir, "ca", server, "server", "cn = localhost\nip_address = 127.0.0.1\ndns_name = localhost\ntls_www_server\nencryption_key\nsigning_key\n");
        MakeCert(dir, "ca", client, "client", "cn = client\ntls_www_client\nencryption_key\nsigning_key\n");
        MakeCa(dir, "other", stranger);
        File.Copy(Path.Combine(client, "ca-cert.pem"), Path.Combine(stranger, "ca-cert.pem"), overwrite: true);
        MakeCert(dir, "other", stranger, "client", "cn = intruder\ntls_www_client\nencryption_key\nsigning_key\n");

        var image = dir.File("disk.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "4M");
        ExternalTool.QemuIo("-c", "write -P 0x5c 0 64k", image);
        var port = Loopback.FreePort();
        var portText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var nbd = NbdProcess.Diskimg(null, port, "-t", "-r", "-p", portText, "-f", "qcow2",
            "--object", $"tls-creds-x509,id=tls0,dir={server},endpoint=server,verify-peer=on", "--tls-creds", "tls0", image);

        string Opts(string id) => $"driver=nbd,server.type=inet,server.host=127.0.0.1,server.port={portText},tls-creds={id}";
        var good = ExternalTool.Run("qemu-io", "--object", $"tls-creds-x509,id=c,dir={client},endpoint=client", "--image-opts", Opts("c"), "-r", "-c", "read -P 0x5c 0 64k");
        Assert.True(good.ExitCode == 0, good.StdErr);
        Assert.Contains("read 65536/65536", good.StdOut, StringComparison.Ordinal);

        var plain = ExternalTool.Run("qemu-img", "info", $"nbd://127.0.0.1:{portText}");
        Assert.NotEqual(0, plain.ExitCode);
        Assert.Contains("TLS", plain.StdErr, StringComparison.Ordinal);

        var intruder = ExternalTool.Run("qemu-img", "info", "--object", $"tls-creds-x509,id=c,dir={stranger},endpoint=client", "--image-opts", Opts("c"));
        Assert.NotEqual(0, intruder.ExitCode);
        Assert.DoesNotContain("virtual size", intruder.StdOut, StringComparison.Ordinal);

        // Our client with the same credentials objects: the good one reads, the stranger is refused.
        var ours = Diskimg.Run("info", "--object", $"tls-creds-x509,id=d,dir={client},endpoint=client", "--image-opts", Opts("d"));
        Assert.True(ours.ExitCode == 0, ours.StdErr);
        Assert.Contains("virtual size: 4 MiB", ours.StdOut, StringComparison.Ordinal);
        var oursStranger = Diskimg.Run("info", "--object", $"tls-creds-x509,id=e,dir={stranger},endpoint=client", "--image-opts", Opts("e"));
        Assert.NotEqual(0, oursStranger.ExitCode);
        var oursPlain = Diskimg.Run("info", $"nbd://127.0.0.1:{portText}");
        Assert.NotEqual(0, oursPlain.ExitCode);
        Assert.Contains("TLS", oursPlain.StdErr, StringComparison.Ordinal);

        Assert.False(nbd.HasExited);
        var again = ExternalTool.Run("qemu-img", "info", "--object", $"tls-creds-x509,id=c,dir={client},endpoint=client", "--image-opts", Opts("c"));
        Assert.True(again.ExitCode == 0, again.StdErr);
    }

    [Fact]
    public void Our_client_checks_the_certificate_name_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        var server = Directory.CreateDirectory(dir.File("server")).FullName;
        var client = Directory.CreateDirectory(dir.File("client")).FullName;
        MakeCa(dir, "ca", server, client);
        MakeCert(dir, "ca", server, "server", "cn = localhost\nip_address = 127.0.0.1\ndns_name = localhost\ntls_www_server\nencryption_key\nsigning_key\n");
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-f", "raw", image, "1M");
        var port = Loopback.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var socket = dir.File("s.sock");
        var serverObject = $"tls-creds-x509,id=tls0,dir={server},endpoint=server,verify-peer=off";
        using var tcp = NbdProcess.Tool("qemu-nbd", null, int.Parse(port, System.Globalization.CultureInfo.InvariantCulture), "-t", "-r", "-f", "raw", "-p", port, "--object", serverObject, "--tls-creds", "tls0", image);
        using var unix = NbdProcess.Tool("qemu-nbd", socket, 0, "-t", "-r", "-f", "raw", "-k", socket, "--object", serverObject, "--tls-creds", "tls0", image);
        var clientObject = $"tls-creds-x509,id=c,dir={client},endpoint=client";
        string[] cases =
        [
            $"driver=nbd,server.type=inet,server.host=127.0.0.1,server.port={port},tls-creds=c,tls-hostname=wrong.example",
            $"driver=nbd,server.type=inet,server.host=127.0.0.1,server.port={port},tls-creds=c",
            $"driver=nbd,server.type=inet,server.host=localhost,server.port={port},tls-creds=c",
            $"driver=nbd,server.type=unix,server.path={socket},tls-creds=c",
            $"driver=nbd,server.type=unix,server.path={socket},tls-creds=c,tls-hostname=localhost",
            $"driver=nbd,server.type=unix,server.path={socket},tls-creds=c,tls-hostname=other.example",
        ];
        foreach (var options in cases)
        {
            var qemu = ExternalTool.Run("qemu-img", "info", "--object", clientObject, "--image-opts", options);
            var ours = Diskimg.Run("info", "--object", clientObject, "--image-opts", options);
            Assert.True(qemu.ExitCode == ours.ExitCode, $"{options}: qemu-img {qemu.ExitCode} {qemu.StdErr}, diskimg {ours.ExitCode} {ours.StdErr}");
            if (qemu.ExitCode != 0)
            {
                // The reason after "Could not open '...': " is qemu's ("Certificate does not match the hostname X", "No hostname for certificate validation").
                var reason = qemu.StdErr.Trim()[(qemu.StdErr.IndexOf("': ", StringComparison.Ordinal) + 3)..];
                Assert.Contains(reason, ours.StdErr, StringComparison.Ordinal);
            }
            else
            {
                Assert.Contains("virtual size: 1 MiB", ours.StdOut, StringComparison.Ordinal);
            }
        }

        // The json: form carries tls-hostname too.
        var json = $"json:{{\"driver\":\"nbd\",\"server\":{{\"type\":\"inet\",\"host\":\"127.0.0.1\",\"port\":\"{port}\"}},\"tls-creds\":\"c\",\"tls-hostname\":\"nope.example\"}}";
        var jsonResult = Diskimg.Run("info", "--object", clientObject, json);
        Assert.NotEqual(0, jsonResult.ExitCode);
        Assert.Contains("Certificate does not match the hostname nope.example", jsonResult.StdErr, StringComparison.Ordinal);
    }

    internal static void MakeCa(TempDirectory dir, string name, params string[] targets)
    {
        var key = dir.File($"{name}-key.pem");
        var template = dir.File($"{name}.info");
        File.WriteAllText(template, $"cn = {name} test CA\nca\ncert_signing_key\nexpiration_days = 2\n");
        ExternalTool.Run("certtool", "--generate-privkey", "--outfile", key).EnsureSuccess("certtool privkey");
        var cert = dir.File($"{name}-cert.pem");
        ExternalTool.Run("certtool", "--generate-self-signed", "--load-privkey", key, "--template", template, "--outfile", cert).EnsureSuccess("certtool ca");
        foreach (var target in targets)
        {
            File.Copy(cert, Path.Combine(target, "ca-cert.pem"), overwrite: true);
        }
    }

    internal static void MakeCert(TempDirectory dir, string ca, string target, string role, string template)
    {
        var info = dir.File($"{role}-{Path.GetFileName(target)}.info");
        File.WriteAllText(info, template + "expiration_days = 2\n");
        var key = Path.Combine(target, $"{role}-key.pem");
        ExternalTool.Run("certtool", "--generate-privkey", "--outfile", key).EnsureSuccess("certtool privkey");
        ExternalTool.Run("certtool", "--generate-certificate", "--load-ca-certificate", dir.File($"{ca}-cert.pem"), "--load-ca-privkey", dir.File($"{ca}-key.pem"),
            "--load-privkey", key, "--template", info, "--outfile", Path.Combine(target, $"{role}-cert.pem")).EnsureSuccess("certtool cert");
    }
}
