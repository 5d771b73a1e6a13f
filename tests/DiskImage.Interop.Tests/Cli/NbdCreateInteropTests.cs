using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Nbd;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// <c>create -f nbd</c> over an export qemu-nbd serves: qemu-img opens it for writing, refuses to grow it or to
/// preallocate, and zeroes its first sector. Each side gets its own export of the same bytes; the output (URI
/// normalised), the exit code and the bytes left on the export must be equal.
/// </summary>
public class NbdCreateInteropTests
{
    [Fact]
    public void Create_over_an_export_does_what_qemu_img_does()
    {
        using var dir = new TempDirectory();
        var bytes = new byte[2 << 20];
        new Random(13).NextBytes(bytes);
        File.WriteAllBytes(dir.File("theirs.raw"), bytes);
        File.WriteAllBytes(dir.File("ours.raw"), bytes);
        File.WriteAllBytes(dir.File("ro.raw"), bytes);
        using var theirs = NbdProcess.Tool("qemu-nbd", dir.File("t.sock"), 0, "-t", "-f", "raw", "-k", dir.File("t.sock"), dir.File("theirs.raw"));
        using var ours = NbdProcess.Tool("qemu-nbd", dir.File("o.sock"), 0, "-t", "-f", "raw", "-k", dir.File("o.sock"), dir.File("ours.raw"));
        using var readOnly = NbdProcess.Tool("qemu-nbd", dir.File("r.sock"), 0, "-t", "-r", "-f", "raw", "-k", dir.File("r.sock"), dir.File("ro.raw"));
        string[][] lines = [["4M"], [], ["-o", "preallocation=full", "1M"], ["1M"], ["2M"]];
        foreach (var line in lines)
        {
            var expected = ExternalTool.Run("qemu-img", ["create", "-f", "nbd", theirs.Uri(), .. line]);
            var actual = Diskimg.Run(["create", "-f", "nbd", ours.Uri(), .. line]);
            Assert.Equal(
                (expected.ExitCode, expected.StdOut.Replace(theirs.Uri(), "URI", StringComparison.Ordinal), QemuToolOutput.Normalise(expected.StdErr.Replace(theirs.Uri(), "URI", StringComparison.Ordinal))),
                (actual.ExitCode, actual.StdOut.Replace(ours.Uri(), "URI", StringComparison.Ordinal), QemuToolOutput.Normalise(actual.StdErr.Replace(ours.Uri(), "URI", StringComparison.Ordinal))));
        }

        Assert.True(File.ReadAllBytes(dir.File("theirs.raw")).AsSpan().SequenceEqual(File.ReadAllBytes(dir.File("ours.raw"))));
        Assert.False(File.ReadAllBytes(dir.File("ours.raw")).AsSpan(0, 512).ContainsAnyExcept((byte)0));

        var refusedTheirs = ExternalTool.Run("qemu-img", "create", "-f", "nbd", readOnly.Uri(), "1M");
        var refusedOurs = Diskimg.Run("create", "-f", "nbd", readOnly.Uri(), "1M");
        Assert.Equal(1, refusedTheirs.ExitCode);
        Assert.Equal(
            (refusedTheirs.ExitCode, refusedTheirs.StdOut, QemuToolOutput.Normalise(refusedTheirs.StdErr)),
            (refusedOurs.ExitCode, refusedOurs.StdOut, QemuToolOutput.Normalise(refusedOurs.StdErr)));
        Assert.True(File.ReadAllBytes(dir.File("ro.raw")).AsSpan().SequenceEqual(bytes));
    }
}
