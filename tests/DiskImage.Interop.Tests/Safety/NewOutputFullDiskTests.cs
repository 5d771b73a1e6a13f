using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// New images on a full file system (a 16 MiB tmpfs, when the tests may mount one): a QED or qcow (version 1) convert
/// of 48 MiB that runs out of space mid-copy, and a create or convert in every format with a header onto a file system
/// already full, where even the header cannot be written. The same command run by qemu-img on the same file system
/// fails too; diskimg prints qemu-img's error line (each driver's own words) with its exit code, and leaves nothing
/// under the target's name and no temporary file.
/// </summary>
public sealed class NewOutputFullDiskTests
{
    [Theory]
    [InlineData("qed", "convert")]
    [InlineData("qcow", "convert")]
    [InlineData("qed", "convert-when-full")]
    [InlineData("qcow", "convert-when-full")]
    [InlineData("qed", "create-when-full")]
    [InlineData("qcow", "create-when-full")]
    [InlineData("qcow2", "convert-when-full")]
    [InlineData("qcow2", "create-when-full")]
    [InlineData("vdi", "convert-when-full")]
    [InlineData("vdi", "create-when-full")]
    [InlineData("vpc", "convert-when-full")]
    [InlineData("vpc", "create-when-full")]
    [InlineData("vhdx", "convert-when-full")]
    [InlineData("vhdx", "create-when-full")]
    [InlineData("parallels", "convert-when-full")]
    [InlineData("parallels", "create-when-full")]
    public void Output_on_a_full_file_system_is_absent_with_qemu_img_s_error(string format, string verb)
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.raw");
        var data = new byte[48 << 20];
        new Random(11).NextBytes(data);
        File.WriteAllBytes(source, data);
        var small = Directory.CreateDirectory(dir.File("small")).FullName;
        string[] arguments = verb == "create-when-full"
            ? ["create", "-q", "-f", format, "target.img", "1G"]
            : ["convert", "-f", "raw", "-O", format, source, "target.img"];
        using var tmpfs = SmallTmpfs.TryMount(small);
        if (tmpfs is null)
        {
            // Only root may mount; elsewhere a file-size limit makes the writes fail instead (EFBIG).
            Assert.NotEqual("root", Environment.UserName);
            using var limited = DiskimgProcess.StartAfter("trap '' XFSZ; ulimit -f 16384;", small, ["convert", "-f", "raw", "-O", format, source, "target.img"]);
            FailedOutput.AssertAbsent(small, "target.img", limited.WaitForExit(TimeSpan.FromSeconds(120)));
            return;
        }

        if (verb != "convert")
        {
            tmpfs.Fill();
        }

        var theirs = ExternalTool.RunIn(small, "qemu-img", arguments);
        Assert.NotEqual(0, theirs.ExitCode);
        File.Delete(Path.Combine(small, "target.img"));

        using var process = DiskimgProcess.Start(small, false, arguments);
        var ours = process.WaitForExit(TimeSpan.FromSeconds(120));
        // qemu-img leaves a failed create's file behind for most formats; none is left here.
        FailedOutput.AssertAbsent(small, "target.img", ours);

        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        // Where the space runs out depends on each tool's request sizes; the words must be qemu-img's.
        Assert.Equal(FailedOutput.AnyByte(QemuToolOutput.Normalise(theirs.StdErr.Trim())), FailedOutput.AnyByte(QemuToolOutput.Normalise(ours.StdErr.Trim())));
    }

    /// <summary>
    /// A create over a file that is already there, on a full file system: qemu-img empties the file and then cannot
    /// write the header. It removes the file for qcow2 and leaves it (emptied, partly written) for the others; the old
    /// contents are gone either way. diskimg prints the same line and leaves the name as qemu-img does: a file the
    /// command did not make is never removed where qemu-img keeps it.
    /// </summary>
    [Theory]
    [InlineData("qcow2")]
    [InlineData("vdi")]
    [InlineData("vpc")]
    [InlineData("vhdx")]
    [InlineData("parallels")]
    [InlineData("qed")]
    [InlineData("qcow")]
    public void Create_over_an_existing_file_on_a_full_file_system_leaves_the_name_as_qemu_img(string format)
    {
        using var dir = new TempDirectory();
        var small = Directory.CreateDirectory(dir.File("small")).FullName;
        using var tmpfs = SmallTmpfs.TryMount(small);
        if (tmpfs is null)
        {
            Assert.NotEqual("root", Environment.UserName);
            return;
        }

        // Empty, so emptying it frees no space: the header write fails as on a new file.
        var target = Path.Combine(small, "target.img");
        File.WriteAllBytes(target, []);
        tmpfs.Fill();
        string[] arguments = ["create", "-q", "-f", format, "target.img", "1G"];
        var theirs = ExternalTool.RunIn(small, "qemu-img", arguments);
        Assert.NotEqual(0, theirs.ExitCode);
        var theirsKept = File.Exists(target);
        Assert.Equal(format != "qcow2", theirsKept);

        File.Delete(target);
        File.WriteAllBytes(target, []);
        using var process = DiskimgProcess.Start(small, false, arguments);
        var ours = process.WaitForExit(TimeSpan.FromSeconds(120));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr.Trim()), QemuToolOutput.Normalise(ours.StdErr.Trim()));
        Assert.Equal(theirsKept, File.Exists(target));
        Assert.Empty(Directory.GetFiles(small, "*" + DiskImage.IO.PartialOutput.Marker + "*"));
    }
}
