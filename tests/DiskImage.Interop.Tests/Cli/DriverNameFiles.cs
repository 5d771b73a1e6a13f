using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// The files every driver-name command line runs against, made once by qemu-img and qemu-io and copied into each
/// test's twin directories (a copy is the same bytes as a fresh make, without ten tool runs per command line).
/// </summary>
public sealed class DriverNameFiles : IDisposable
{
    private readonly TempDirectory _template = new();

    public DriverNameFiles()
    {
        var dir = _template;
        ExternalTool.QemuImg("create", "-q", "-f", "raw", dir.File("src.raw"), "1M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x5a 0 64k", dir.File("src.raw"));
        ExternalTool.QemuImg("create", "-q", "-f", "raw", dir.File("tgt.raw"), "1M");
        // Equal to tgt.raw but for a run at 300 KiB: a blkverify pair that passes the probe and differs later.
        ExternalTool.QemuImg("create", "-q", "-f", "raw", dir.File("late.raw"), "1M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x11 300k 1k", dir.File("late.raw"));
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", dir.File("src.qcow2"), "1M");
        // The backing file is named relatively, so the overlay names src.raw beside it wherever it is copied.
        ExternalTool.RunIn(dir.Path, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "src.raw", "-F", "raw", "ov.qcow2").EnsureSuccess("qemu-img create");

        // Files no format recognises: one empty, one shorter than any header, with bytes where VDI's signature goes.
        File.WriteAllBytes(dir.File("empty"), []);
        File.WriteAllBytes(dir.File("short"), [.. Enumerable.Range(0, 100).Select(i => (byte)(i * 37 + 11))]);
    }

    /// <summary>Puts src.raw, tgt.raw, late.raw, src.qcow2, ov.qcow2, empty, short and an empty directory sub into <paramref name="dir"/>.</summary>
    public void CopyTo(TempDirectory dir)
    {
        foreach (var file in Directory.GetFiles(_template.Path))
        {
            File.Copy(file, dir.File(Path.GetFileName(file)));
        }

        Directory.CreateDirectory(dir.File("sub"));
    }

    public void Dispose() => _template.Dispose();
}
