using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Curl;

/// <summary>
/// The images the ftp tests serve, made once by qemu: a qcow2 with data, a hole and zeroes (also in a subdirectory),
/// a raw file, a qcow2 overlay whose backing file is the qcow2 by ftp:// URL and one that names it relatively; served
/// by pyftpdlib over FTP, over implicit FTPS (self-signed), and by a server that refuses SIZE.
/// </summary>
public sealed class FtpImages : IDisposable
{
    private readonly TempDirectory _dir = new();

    public FtpImages()
    {
        ExternalTool.Require("qemu-img");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", _dir.File("disk.qcow2"), "8M");
        ExternalTool.QemuIo("-c", "write -P 0x5a 0 192k", "-c", "write -P 0x6b 3M 64k", "-c", "write -z 5M 64k", _dir.File("disk.qcow2"));
        ExternalTool.QemuImg("create", "-q", "-f", "raw", _dir.File("disk.raw"), "2M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x33 64k 600k", _dir.File("disk.raw"));
        System.IO.Directory.CreateDirectory(_dir.File("sub"));
        File.Copy(_dir.File("disk.qcow2"), _dir.File("sub/disk.qcow2"));
        Ftp = new PyFtpServer(_dir.Path);
        Ftps = new PyFtpServer(_dir.Path, tls: true);
        NoSize = new PyFtpServer(_dir.Path, noSize: true);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", Ftp.Url("disk.qcow2"), "-F", "qcow2", _dir.File("overlay.qcow2"));
        ExternalTool.QemuIo("-c", "write -P 0x7c 64k 64k", _dir.File("overlay.qcow2"));
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "disk.qcow2", "-F", "qcow2", _dir.File("relative.qcow2"));
    }

    public PyFtpServer Ftp { get; }

    public PyFtpServer Ftps { get; }

    public PyFtpServer NoSize { get; }

    /// <summary>The served directory (for local copies to compare with).</summary>
    public string Directory => _dir.Path;

    public void Dispose()
    {
        Ftp.Dispose();
        Ftps.Dispose();
        NoSize.Dispose();
        _dir.Dispose();
    }
}
