using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Verbs;

/// <summary>
/// <c>dd</c> as qemu-img 7.2 runs it on identical inputs: every block is read and written on its own, zero blocks
/// included, so a qcow2 or qed output is byte for byte qemu-img's (clusters allocated for zeroes, qed's L2 tables after
/// the first block's cluster), and a blkverify input names qemu-img's bs-sized read in its mismatch line (a probed raw
/// node above it widens an unaligned read to whole sectors, as QEMU's does).
/// </summary>
public class DdLayoutInteropTests
{
    [Theory]
    [InlineData("qcow2", "bs=512")]
    [InlineData("qcow2", "bs=3000", "skip=5")]
    [InlineData("qcow2", "bs=64k", "count=20")]
    [InlineData("qcow2", "bs=4k", "skip=7", "count=400")]
    [InlineData("qcow2", "bs=1M")]
    [InlineData("qcow2", "skip=100000")]
    [InlineData("qed", "bs=4k")]
    [InlineData("qed", "bs=1M", "count=2")]
    public void Output_file_is_qemu_img_dd_s_byte_for_byte(string format, params string[] operands)
    {
        using var dir = new TempDirectory();
        var input = dir.File("in.raw");
        WriteInput(input);
        var theirs = dir.File($"theirs.{format}");
        var ours = dir.File($"ours.{format}");
        var expected = ExternalTool.Run("qemu-img", ["dd", "-f", "raw", "-O", format, .. operands, "if=" + input, "of=" + theirs]);
        var actual = Diskimg.Run(["dd", "-f", "raw", "-O", format, .. operands, "if=" + input, "of=" + ours]);

        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(expected.StdOut, actual.StdOut);
        Assert.Equal(QemuToolOutput.Normalise(expected.StdErr), QemuToolOutput.Normalise(actual.StdErr));
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
    }

    [Theory]
    [InlineData("bs=512")]
    [InlineData("bs=3000")]
    [InlineData("bs=1000", "-f", "raw")]
    [InlineData("bs=64k", "-f", "blkverify")]
    [InlineData("bs=2M")]
    public void Blkverify_mismatch_names_the_bs_sized_read_as_qemu_img_dd(string bs, params string[] format)
    {
        using var dir = new TempDirectory();
        var reference = dir.File("ref.raw");
        var test = dir.File("test.raw");
        using (var file = File.Create(reference))
        {
            file.SetLength(1 << 20);
        }

        File.Copy(reference, test);
        using (var file = File.OpenWrite(test))
        {
            file.Position = 5000;
            file.WriteByte((byte)'x');
        }

        var name = $"blkverify:{reference}:{test}";
        var expected = ExternalTool.Run("qemu-img", ["dd", .. format, bs, "if=" + name, "of=" + dir.File("theirs.raw")]);
        var actual = Diskimg.Run(["dd", .. format, bs, "if=" + name, "of=" + dir.File("ours.raw")]);

        Assert.Contains("contents mismatch at offset 5000", expected.StdErr, StringComparison.Ordinal);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(expected.StdOut, actual.StdOut);
        Assert.Equal(QemuToolOutput.Normalise(expected.StdErr), QemuToolOutput.Normalise(actual.StdErr));

        // The same widening for qemu-io's unaligned read over the probed raw node.
        string[] read = ["-c", "read 3000 3000", name];
        var expectedRead = ExternalTool.Run("qemu-io", read);
        var actualRead = Diskimg.Run(["io", .. read]);
        Assert.Equal(expectedRead.ExitCode, actualRead.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(expectedRead.StdErr), QemuToolOutput.Normalise(actualRead.StdErr));
    }

    /// <summary>3 MiB and 1000 bytes: data runs, holes between them and an unaligned end.</summary>
    private static void WriteInput(string path)
    {
        using var file = File.Create(path);
        file.SetLength((3 << 20) + 1000);
        var random = new Random(7);
        var chunk = new byte[5 * 65536];
        random.NextBytes(chunk);
        file.Position = 3 * 65536;
        file.Write(chunk);
        file.Position = 2_000_000;
        file.Write(chunk.AsSpan(0, 100));
    }
}
