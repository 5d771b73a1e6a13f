using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Curl;

/// <summary>
/// pyftpdlib (python3-pyftpdlib, python3-openssl) serving a directory on a free port of 127.0.0.1 for as long as the
/// object lives: plain FTP, or implicit FTPS with a self-signed certificate made here (<c>ftps://</c>), or a server
/// that refuses SIZE. See ftp_server.py beside this file.
/// </summary>
public sealed class PyFtpServer : IDisposable
{
    /// <summary>The interpreter that has the Debian packages (not a user's own Python first on PATH).</summary>
    private const string Python = "/usr/bin/python3";

    private readonly Process _process;
    private readonly TempDirectory? _certificateDir;

    public PyFtpServer(string root, bool tls = false, bool noSize = false)
    {
        if (!File.Exists(Python) || ExternalTool.Run(Python, "-c", "import pyftpdlib, OpenSSL").ExitCode != 0)
        {
            throw new InvalidOperationException("python3-pyftpdlib and python3-openssl are not installed; run ./test.sh, which installs them.");
        }

        Tls = tls;
        var script = Path.Combine(AppContext.BaseDirectory, "Curl", "ftp_server.py");
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { script, root })
        {
            start.ArgumentList.Add(argument);
        }

        if (tls)
        {
            _certificateDir = new TempDirectory();
            var pem = _certificateDir.File("server.pem");
            File.WriteAllText(pem, SelfSignedPem());
            start.ArgumentList.Add("--tls");
            start.ArgumentList.Add(pem);
        }

        if (noSize)
        {
            start.ArgumentList.Add("--no-size");
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("python3 did not start");
        var line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(20)) || line.Result is not { } text || !text.StartsWith("PORT ", StringComparison.Ordinal))
        {
            Dispose();
            throw new InvalidOperationException("The FTP test server did not start");
        }

        Port = int.Parse(text[5..], CultureInfo.InvariantCulture);
    }

    public int Port { get; }

    public bool Tls { get; }

    public string Url(string name) => $"{(Tls ? "ftps" : "ftp")}://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/{name}";

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
        _certificateDir?.Dispose();
    }

    private static string SelfSignedPem()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return made.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n";
    }
}
