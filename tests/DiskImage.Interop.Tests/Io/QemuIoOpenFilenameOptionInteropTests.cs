using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// qemu-io's <c>open -o</c> with a <c>filename</c> or <c>file</c> option beside drivers that take no file name of
/// their own (the null drivers, formats, filters) or beside a path: each command line runs with qemu-io and with
/// <c>diskimg io</c> in twin directories holding the same images (a raw and a qcow2 one); stdout, stderr (program
/// name normalised) and exit codes must match.
/// </summary>
public class QemuIoOpenFilenameOptionInteropTests
{
    public static TheoryData<string> Opens => new()
    {
        "driver=null-co,filename=x",
        "driver=null-co,filename=null-co://",
        "driver=null-aio,size=1M,filename=foo",
        "driver=null-co,filename=x r.raw",
        "driver=null-co",
        "driver=null-co,size=1M null-co://",
        "driver=null-co,size=1M r.raw",
        "driver=null-aio null-co://",
        "driver=null-co,x=1 null-co://",
        "driver=null-co,read-zeroes=on,file=x",
        "driver=raw,filename=r.raw",
        "driver=qcow2,filename=q.qcow2",
        "driver=throttle,filename=r.raw",
        "driver=raw,filename=x r.raw",
        "driver=qcow2,filename=x q.qcow2",
        "driver=raw,file.filename=r.raw,filename=r.raw",
        "driver=file,filename=x r.raw",
        "driver=host_device,filename=x r.raw",
        "driver=blkverify,filename=blkverify:r.raw:r.raw",
        "filename=r.raw",
        "filename=r.raw r.raw",
        "driver=raw,file=r.raw",
        "file=r.raw,driver=raw r.raw",
        "driver=file,filename=r.raw",
    };

    [Theory]
    [MemberData(nameof(Opens))]
    public void A_filename_option_is_judged_as_qemu_io_judges_it(string open)
    {
        using var dir = new TempDirectory();
        var results = new List<ExternalTool.Result>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var sideDir = Path.Combine(dir.Path, side);
            Directory.CreateDirectory(sideDir);
            ExternalTool.QemuImg("create", "-q", "-f", "raw", Path.Combine(sideDir, "r.raw"), "1M");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", Path.Combine(sideDir, "q.qcow2"), "1M");
            var line = open.Replace("r.raw", Path.Combine(sideDir, "r.raw"), StringComparison.Ordinal)
                .Replace("q.qcow2", Path.Combine(sideDir, "q.qcow2"), StringComparison.Ordinal);
            string[] words = ["-c", "open -o " + line, "-c", "info", "-c", "read 0 512"];
            var result = side == "theirs" ? ExternalTool.Run("qemu-io", words) : Diskimg.Run(["io", .. words]);
            results.Add(new ExternalTool.Result(result.ExitCode, result.StdOut.Replace(sideDir, "DIR", StringComparison.Ordinal),
                result.StdErr.Replace(sideDir, "DIR", StringComparison.Ordinal)));
        }

        Assert.Equal(QemuToolOutput.Normalise(results[0].StdOut), QemuToolOutput.Normalise(results[1].StdOut));
        Assert.Equal(QemuToolOutput.Normalise(results[0].StdErr), QemuToolOutput.Normalise(results[1].StdErr));
        Assert.Equal(results[0].ExitCode, results[1].ExitCode);
    }
}
