using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Curl;

/// <summary>
/// The images the curl tests serve, made once by qemu: a qcow2 with data and a hole, a raw file, and a qcow2 overlay
/// whose backing file is the qcow2 by URL, and one that names it relatively; served over HTTP and over HTTPS (self-signed) by <see cref="RangeHttpServer"/>.
/// </summary>
public sealed class CurlImages : IDisposable
{
    private readonly TempDirectory _dir = new();

    public CurlImages()
    {
        ExternalTool.Require("qemu-img");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", _dir.File("disk.qcow2"), "8M");
        ExternalTool.QemuIo("-c", "write -P 0x5a 0 192k", "-c", "write -P 0x6b 3M 64k", "-c", "write -z 5M 64k", _dir.File("disk.qcow2"));
        ExternalTool.QemuImg("create", "-q", "-f", "raw", _dir.File("disk.raw"), "2M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x33 64k 600k", _dir.File("disk.raw"));
        Http = new RangeHttpServer(_dir.Path);
        Https = new RangeHttpServer(_dir.Path, tls: true);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", Http.Url("disk.qcow2"), "-F", "qcow2", _dir.File("overlay.qcow2"));
        ExternalTool.QemuIo("-c", "write -P 0x7c 64k 64k", _dir.File("overlay.qcow2"));
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "disk.qcow2", "-F", "qcow2", _dir.File("relative.qcow2"));
    }

    public RangeHttpServer Http { get; }

    public RangeHttpServer Https { get; }

    /// <summary>The served directory (for local copies to compare with).</summary>
    public string Directory => _dir.Path;

    public void Dispose()
    {
        Http.Dispose();
        Https.Dispose();
        _dir.Dispose();
    }
}
