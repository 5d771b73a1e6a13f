using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// A standalone <c>luks</c> image created or converted onto a full file system (a 16 MiB tmpfs, when the tests may mount
/// one; else under a 16 MiB file-size limit): the same command run by qemu-img on the same file system fails too, and
/// diskimg prints qemu-img's one error line (ENOSPC wording) with its exit code, leaving nothing under the target's
/// name and no temporary file.
/// </summary>
public sealed class LuksFullDiskTests
{
    private static readonly string[] s_secret = ["--object", "secret,id=sec0,data=123456"];

    private static string[] Arguments(string verb, string source, string target) => verb switch
    {
        "convert" => ["convert", .. s_secret, "-f", "raw", "-O", "luks", "-o", "key-secret=sec0,iter-time=10", source, target],
        _ => ["create", "-q", .. s_secret, "-f", "luks", "-o", "key-secret=sec0,iter-time=10,preallocation=full", target, "48M"],
    };

    [Theory]
    [InlineData("convert")]
    [InlineData("create")]
    public void Luks_output_on_a_full_file_system_is_absent_with_qemu_img_s_error(string verb)
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.raw");
        var data = new byte[48 << 20];
        new Random(9).NextBytes(data);
        File.WriteAllBytes(source, data);
        var small = Directory.CreateDirectory(dir.File("small")).FullName;
        using var tmpfs = SmallTmpfs.TryMount(small);
        if (tmpfs is null)
        {
            Assert.NotEqual("root", Environment.UserName);
            using var limited = DiskimgProcess.StartAfter("trap '' XFSZ; ulimit -f 16384;", small, Arguments(verb, source, "target.luks"));
            FailedOutput.AssertAbsent(small, "target.luks", limited.WaitForExit(TimeSpan.FromSeconds(120)));
            return;
        }

        var theirs = ExternalTool.RunIn(small, "qemu-img", Arguments(verb, source, "target.luks"));
        Assert.NotEqual(0, theirs.ExitCode);
        foreach (var file in Directory.GetFiles(small))
        {
            File.Delete(file);
        }

        using var process = DiskimgProcess.Start(small, false, Arguments(verb, source, "target.luks"));
        var ours = process.WaitForExit(TimeSpan.FromSeconds(120));
        FailedOutput.AssertAbsent(small, "target.luks", ours);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        // Where the space runs out depends on each tool's request sizes; the words must be qemu-img's.
        Assert.Equal(FailedOutput.AnyByte(QemuToolOutput.Normalise(theirs.StdErr.Trim())), FailedOutput.AnyByte(QemuToolOutput.Normalise(ours.StdErr.Trim())));
    }
}
