using System.Diagnostics;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// A write that fails for lack of space (convert, dd, iso create, create -o preallocation=full): on a 16 MiB tmpfs (ENOSPC) when the tests may mount one, and always
/// under a 16 MiB file-size limit (EFBIG, with SIGXFSZ ignored as a shell would). Either way the temporary
/// file is removed, nothing is left under the target's name, and one error line is printed.
/// </summary>
public sealed class FullDiskTests
{
    private const long SourceSize = 48L << 20;

    [Theory]
    [InlineData("convert", "raw")]
    [InlineData("convert", "qcow2")]
    [InlineData("convert-from-qcow2", "raw")]
    [InlineData("convert-from-qcow2", "qcow2")]
    [InlineData("convert-from-zlib-qcow2", "raw")]
    [InlineData("dd", "raw")]
    [InlineData("iso", "iso")]
    [InlineData("create", "raw")]
    [InlineData("create", "qcow2")]
    public void File_size_limit_leaves_no_target(string verb, string format)
    {
        using var dir = new TempDirectory();
        var sourcePath = MakeSource(dir);
        using var process = DiskimgProcess.StartAfter("trap '' XFSZ; ulimit -f 16384;", dir.Path, Arguments(verb, format, sourcePath, "target.img"));
        AssertCleanFailure(dir.Path, process.WaitForExit(TimeSpan.FromSeconds(120)));
    }

    [Theory]
    [InlineData("convert", "raw")]
    [InlineData("convert", "qcow2")]
    [InlineData("convert-from-qcow2", "raw")]
    [InlineData("convert-from-qcow2", "qcow2")]
    [InlineData("convert-from-zlib-qcow2", "raw")]
    [InlineData("dd", "raw")]
    [InlineData("iso", "iso")]
    [InlineData("create", "raw")]
    [InlineData("create", "qcow2")]
    public void Full_tmpfs_leaves_no_target(string verb, string format)
    {
        using var dir = new TempDirectory();
        var sourcePath = MakeSource(dir);
        var small = Directory.CreateDirectory(dir.File("small")).FullName;
        using var tmpfs = SmallTmpfs.TryMount(small);
        if (tmpfs is null)
        {
            // Only root may mount; elsewhere the file-size limit case covers the same path (a write failing mid-copy).
            Assert.NotEqual("root", Environment.UserName);
            return;
        }

        using var process = DiskimgProcess.Start(small, false, Arguments(verb, format, sourcePath, "target.img"));
        AssertCleanFailure(small, process.WaitForExit(TimeSpan.FromSeconds(120)));
    }

    /// <summary>
    /// On ext4 a new convert target reserves the blocks of each large write before it (<c>fallocate</c>); a full disk must
    /// still fail cleanly, whether the reserving or the write runs out of space. A 16 MiB ext4 file system on a loop device.
    /// </summary>
    [Theory]
    [InlineData("convert", "raw")]
    [InlineData("convert", "qcow2")]
    [InlineData("convert-from-qcow2", "raw")]
    [InlineData("convert-from-qcow2", "qcow2")]
    public void Full_ext4_leaves_no_target(string verb, string format)
    {
        using var dir = new TempDirectory();
        var sourcePath = MakeSource(dir);
        var small = Directory.CreateDirectory(dir.File("small")).FullName;
        if (!TryMountExt4(dir.File("small.ext4"), small))
        {
            // Only root may mount; elsewhere the file-size limit case covers the same path (a write failing mid-copy).
            Assert.NotEqual("root", Environment.UserName);
            return;
        }

        try
        {
            Assert.Equal("ext4", new DriveInfo(small).DriveFormat);
            using var process = DiskimgProcess.Start(small, false, Arguments(verb, format, sourcePath, "target.img"));
            AssertCleanFailure(small, process.WaitForExit(TimeSpan.FromSeconds(120)));
        }
        finally
        {
            Process.Start("umount", ["-l", small])!.WaitForExit();
        }
    }

    private static string[] Arguments(string verb, string format, string sourcePath, string target) => verb switch
    {
        "convert" => ["convert", "-f", "raw", "-O", format, sourcePath, target],

        // A qcow2 source into a new raw target: the worker threads write the chunks themselves, with pwrite, not copy_file_range.
        "convert-from-qcow2" => ["convert", "-f", "qcow2", "-O", format, QcowSource(sourcePath, compressed: false), target],
        "convert-from-zlib-qcow2" => ["convert", "-f", "qcow2", "-O", format, QcowSource(sourcePath, compressed: true), target],
        "dd" => ["dd", "-f", "raw", "-O", format, "bs=1M", $"if={sourcePath}", $"of={target}"],
        "create" => ["create", "-q", "-f", format, "-o", "preallocation=full", target, "48M"],
        _ => ["iso", "create", "-o", target, sourcePath],
    };

    private static void AssertCleanFailure(string directory, ExternalTool.Result result)
    {
        FailedOutput.AssertAbsent(directory, "target.img", result);
        Assert.StartsWith("diskimg: ", result.StdErr, StringComparison.Ordinal);
    }

    private static string MakeSource(TempDirectory dir)
    {
        var path = dir.File("source.raw");
        var data = new byte[SourceSize];
        new Random(5).NextBytes(data);
        File.WriteAllBytes(path, data);
        return path;
    }

    private static string QcowSource(string rawPath, bool compressed)
    {
        var path = rawPath + (compressed ? ".zlib.qcow2" : ".qcow2");
        if (!compressed)
        {
            ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow2", rawPath, path);
            return path;
        }

        // Sixteen letters at random: deflate halves the clusters, so they are stored compressed.
        var text = rawPath + ".text";
        var data = new byte[SourceSize];
        var random = new Random(6);
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (byte)('a' + random.Next(16));
        }

        File.WriteAllBytes(text, data);
        ExternalTool.QemuImg("convert", "-c", "-f", "raw", "-O", "qcow2", text, path);
        return path;
    }

    private static bool TryMountExt4(string imagePath, string path)
    {
        using (var image = File.Create(imagePath))
        {
            image.SetLength(16L << 20);
        }

        ExternalTool.Result made = ExternalTool.Run("mkfs.ext4", "-q", "-F", imagePath);
        Assert.True(made.ExitCode == 0, made.StdErr);
        using var mount = Process.Start(new ProcessStartInfo("mount", ["-o", "loop", imagePath, path]) { RedirectStandardError = true })!;
        mount.WaitForExit();
        return mount.ExitCode == 0;
    }
}
