using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// Where metadata lands and what is left allocated, compared with qemu-img/qemu-io 7.2 doing the same on
/// identical images: refcount block placement, a commit of zeroes, a corrupt refcount table entry met while
/// allocating, and names with QEMU's explicit <c>file:</c> prefix.
/// </summary>
public class LayoutInteropTests
{
    /// <summary>A write whose run needs a new refcount block: QEMU puts the block after the run, not inside it.</summary>
    [Fact]
    public void New_refcount_block_goes_after_the_run_it_counts_as_qemu_io_puts_it()
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "refcount_bits=64,cluster_size=1k", theirs, "1M");
        File.Copy(theirs, ours);

        ExternalTool.QemuIo("-c", "write 0 124k", theirs);
        Diskimg.Ok("io", "-c", "write 0 124k", ours);

        Assert.Equal(ReftableEntries(theirs, 2), ReftableEntries(ours, 2));
        Assert.Equal(ExternalTool.QemuImg("check", "--output=json", theirs).Replace(theirs, "IMG", StringComparison.Ordinal),
            ExternalTool.QemuImg("check", "--output=json", ours).Replace(ours, "IMG", StringComparison.Ordinal));
    }

    /// <summary>A refcount table entry that is not cluster aligned, met while allocating: qemu-io's line, EIO, and the corrupt bit.</summary>
    [Fact]
    public void Unaligned_refcount_block_met_while_allocating_marks_the_image_corrupt_as_qemu_io_does()
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "refcount_bits=64,cluster_size=1k", theirs, "1M");
        ExternalTool.QemuIo("-c", "write 0 124k", "-c", "discard 121k 1k", "-c", "discard 123k 1k", theirs);
        var entry = ReftableEntries(theirs, 2)[1];
        Assert.NotEqual(0UL, entry);
        // Byte 6 of the second entry: the block's offset is no longer a multiple of the cluster size.
        var position = (long)ReftableOffset(theirs) + 8 + 6;
        using (var file = File.OpenWrite(theirs))
        {
            file.Position = position;
            file.WriteByte(0x06);
        }

        File.Copy(theirs, ours);
        var theirResult = ExternalTool.Run("qemu-io", "-c", "write 121k 3k", theirs);
        var ourResult = Diskimg.Run("io", "-c", "write 121k 3k", ours);

        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        Assert.Contains("Marking image as corrupt: Refblock offset", theirResult.StdErr, StringComparison.Ordinal);
        Assert.Equal(theirResult.StdErr, ourResult.StdErr);
        Assert.Equal(Lines(theirResult.StdOut)[0], Lines(ourResult.StdOut)[0]);
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", theirs).Replace(theirs, "IMG", StringComparison.Ordinal),
            ExternalTool.QemuImg("info", "--output=json", ours).Replace(ours, "IMG", StringComparison.Ordinal));
    }

    /// <summary>Committing an overlay of zero clusters frees the base's clusters (check prints no allocation line), as qemu-img commit.</summary>
    [Fact]
    public void Commit_of_zeroes_leaves_no_base_cluster_allocated_as_qemu_img_commit()
    {
        using var dir = new TempDirectory();
        var results = new List<string>();
        foreach (var tool in new[] { "qemu", "diskimg" })
        {
            var baseImage = dir.File($"{tool}.base");
            var top = dir.File($"{tool}.qcow2");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=4k,refcount_bits=64", baseImage, "8M");
            ExternalTool.QemuIo("-c", "write -P 1 0 8M", baseImage);
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=4k,refcount_bits=64", "-b", baseImage, "-F", "qcow2", top);
            ExternalTool.QemuIo("-c", "write -z 0 8M", top);
            if (tool == "qemu")
            {
                ExternalTool.QemuImg("commit", "-q", top);
            }
            else
            {
                Diskimg.Ok("commit", "-q", top);
            }

            var check = ExternalTool.Run("qemu-img", "check", baseImage);
            Assert.Equal(0, check.ExitCode);
            ExternalTool.QemuIo("-c", "read -P 0 0 8M", top);
            results.Add(check.StdOut + ExternalTool.QemuImg("map", "--output=json", baseImage));
        }

        Assert.DoesNotContain("allocated", results[0], StringComparison.Ordinal);
        Assert.Equal(results[0], results[1]);
    }

    /// <summary>An explicit <c>file:</c> prefix names the file after it, even one with a colon in its name.</summary>
    [Fact]
    public void File_prefix_in_create_and_info_names_as_qemu_img_takes_it()
    {
        using var dir = new TempDirectory();
        var results = new List<string>();
        foreach (var tool in new[] { "qemu", "diskimg" })
        {
            var sub = Directory.CreateDirectory(dir.File(tool)).FullName;
            var baseName = $"file:{sub}/image:base.qcow2";
            var topName = $"file:{sub}/image:top.qcow2";
            string[][] commands =
            [
                ["create", "-f", "qcow2", baseName, "64M"],
                ["create", "-f", "qcow2", "-b", "./image:base.qcow2", "-F", "qcow2", topName],
                ["info", topName],
                ["info", "--output=json", "--backing-chain", topName],
            ];
            var text = "";
            foreach (var command in commands)
            {
                var result = tool == "qemu" ? ExternalTool.Run("qemu-img", command) : Diskimg.Run(command);
                text += $"{result.ExitCode}\n{result.StdOut}{result.StdErr}".Replace(sub, "DIR", StringComparison.Ordinal);
            }

            Assert.True(File.Exists(Path.Combine(sub, "image:top.qcow2")));
            results.Add(text.Replace("diskimg: ", "qemu-img: ", StringComparison.Ordinal));
        }

        Assert.Equal(results[0], results[1]);
    }

    /// <summary>qemu-io's <c>abort</c> ends the process with the image open: its persistent bitmaps stay in_use, as qemu-io leaves them.</summary>
    [Fact]
    public void Abort_leaves_persistent_bitmaps_in_use_as_qemu_io_does()
    {
        using var dir = new TempDirectory();
        var infos = new List<string>();
        foreach (var tool in new[] { "qemu", "diskimg" })
        {
            var image = dir.File($"{tool}.qcow2");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "10M");
            ExternalTool.QemuImg("bitmap", "--add", image, "b0");
            if (tool == "qemu")
            {
                Assert.NotEqual(0, ExternalTool.Run("qemu-io", "-c", "abort", image).ExitCode);
            }
            else
            {
                using var process = DiskimgProcess.Start(dir.Path, onTerminal: false, "io", "-c", "abort", image);
                Assert.NotEqual(0, process.WaitForExit(TimeSpan.FromMinutes(2)).ExitCode);
            }

            infos.Add(ExternalTool.QemuImg("info", "--output=json", image).Replace(image, "IMG", StringComparison.Ordinal));
        }

        Assert.Contains("in-use", infos[0], StringComparison.Ordinal);
        Assert.Equal(infos[0], infos[1]);
    }

    private static ulong ReftableOffset(string path)
    {
        Span<byte> header = stackalloc byte[8];
        using var file = File.OpenRead(path);
        file.Position = 48;
        file.ReadExactly(header);
        return BinaryPrimitives.ReadUInt64BigEndian(header);
    }

    private static ulong[] ReftableEntries(string path, int count)
    {
        var offset = ReftableOffset(path);
        var raw = new byte[count * 8];
        using var file = File.OpenRead(path);
        file.Position = (long)offset;
        file.ReadExactly(raw);
        return [.. Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8)))];
    }

    private static string[] Lines(string text) => text.Split('\n');
}
