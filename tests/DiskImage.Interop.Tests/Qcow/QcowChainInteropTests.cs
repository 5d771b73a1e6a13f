using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow;

/// <summary>
/// qcow in chains and node stacks, each compared with qemu-img/qemu-io 7.2 on identical inputs (standard output,
/// standard error with the program name and the image's path normalised, exit code): blkdebug faults on its file
/// accesses, commit into and out of it, a qcow node over another format's node or a quorum, and create's words for a
/// backing file it cannot open or a backing format it does not know.
/// </summary>
public class QcowChainInteropTests
{
    /// <summary>blkdebug rules act on qcow's data and table accesses as on QEMU's (the events its driver raises).</summary>
    [Theory]
    [InlineData("[inject-error]\nevent = \"write_aio\"\nerrno = \"28\"\nonce = \"on\"\n", new[] { "write -P 1 0 4k", "write -P 2 4k 4k", "read -P 0 0 4k", "read -P 2 4k 4k" })]
    [InlineData("[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\n", new[] { "read -P 0 1M 4k", "read -P 7 0 4k" })]
    [InlineData("[inject-error]\nevent = \"l2_load\"\n", new[] { "read -P 7 0 4k", "read -P 0 1M 4k" })]
    [InlineData("[inject-error]\nevent = \"cluster_alloc\"\nerrno = \"28\"\n", new[] { "write -P 3 1M 4k", "read -P 7 0 4k" })]
    public void Qemu_io_through_blkdebug_rules_matches(string rules, string[] commands)
    {
        using var dir = new TempDirectory();
        var rulesFile = dir.File("rules.conf");
        File.WriteAllText(rulesFile, rules);
        var results = new List<(ExternalTool.Result Result, string Image)>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var image = dir.File($"{side}.qcow");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow", image, "16M");
            ExternalTool.QemuIo("-f", "qcow", "-c", "write -P 7 0 4k", image);
            string[] arguments = ["-t", "writeback", "-f", "qcow", .. commands.SelectMany(c => new[] { "-c", c }), $"blkdebug:{rulesFile}:{image}"];
            results.Add((side == "theirs" ? ExternalTool.Run("qemu-io", arguments) : Diskimg.Run(["io", .. arguments]), image));
        }

        AssertSame(results[0], results[1]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-q", "-f", "qcow", "-F", "qcow", results[0].Image, results[1].Image).ExitCode);
    }

    /// <summary>Commit into a qcow base whose data write fails once (iotest 020): the block job fails with ENOSPC.</summary>
    [Fact]
    public void Commit_into_a_failing_qcow_base_matches()
    {
        using var dir = new TempDirectory();
        var results = new List<(ExternalTool.Result Result, string Image)>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var baseImage = dir.File($"{side}.base");
            var overlay = dir.File($"{side}.qcow");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow", baseImage, "1M");
            var backing = $"json:{{'driver': 'qcow', 'file': {{'driver': 'blkdebug', 'inject-error': [{{'event': 'write_aio', 'errno': 28, 'once': true}}], 'image': {{'driver': 'file', 'filename': '{baseImage}'}}}}}}";
            ExternalTool.QemuImg("create", "-q", "-f", "qcow", "-b", backing, "-F", "qcow", overlay);
            ExternalTool.QemuIo("-f", "qcow", "-c", "write -P 1 0 64k", overlay);
            results.Add((side == "theirs" ? ExternalTool.Run("qemu-img", "commit", overlay) : Diskimg.Run("commit", overlay), overlay));
        }

        Assert.NotEqual(0, results[0].Result.ExitCode);
        AssertSame(results[0], results[1]);
    }

    /// <summary>
    /// A commit empties the qcow image it committed (QEMU's make_empty: L1 zeroed, file cut after it), or leaves it
    /// with -b or -d (iotest 097); the maps of all three layers and the files' lengths are qemu-img's.
    /// </summary>
    [Theory]
    [InlineData("")]
    [InlineData("-d")]
    [InlineData("-b itmd")]
    [InlineData("-b base")]
    public void Commit_out_of_a_qcow_chain_leaves_qemu_img_s_layers(string optionText)
    {
        var options = optionText.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        using var dir = new TempDirectory();
        var maps = new List<string>();
        var lengths = new List<long[]>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var sideDir = Path.Combine(dir.Path, side);
            Directory.CreateDirectory(sideDir);
            var baseImage = Path.Combine(sideDir, "base");
            var itmd = Path.Combine(sideDir, "itmd");
            var top = Path.Combine(sideDir, "top");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow", baseImage, "8M");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow", "-b", baseImage, "-F", "qcow", itmd, "8M");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow", "-b", itmd, "-F", "qcow", top, "8M");
            ExternalTool.QemuIo("-f", "qcow", "-c", "write -P 1 1M 192k", baseImage);
            ExternalTool.QemuIo("-f", "qcow", "-c", "write -P 2 1088k 128k", itmd);
            ExternalTool.QemuIo("-f", "qcow", "-c", "write -P 3 1152k 64k", "-c", "write -P 4 8191k 1k", top);
            string[] commit = ["commit", "-q", .. options.Select(o => o is "itmd" or "base" ? Path.Combine(sideDir, o) : o), top];
            if (side == "theirs")
            {
                ExternalTool.QemuImg(commit);
            }
            else
            {
                Diskimg.Ok(commit);
            }

            maps.Add(string.Concat(new[] { baseImage, itmd, top }.Select(f => ExternalTool.QemuImg("map", "-f", "qcow", f).Replace(sideDir, "DIR", StringComparison.Ordinal))));
            lengths.Add([new FileInfo(baseImage).Length, new FileInfo(itmd).Length, new FileInfo(top).Length]);
        }

        Assert.Equal(maps[0], maps[1]);
        Assert.Equal(lengths[0], lengths[1]);
    }

    /// <summary>
    /// A raw base that was only probed (qcow records no backing format) keeps its first sector: committing another
    /// format's header into it fails with EPERM and leaves it raw (iotest 301).
    /// </summary>
    [Fact]
    public void Commit_of_a_format_header_into_a_probed_raw_base_matches()
    {
        using var dir = new TempDirectory();
        var results = new List<(ExternalTool.Result Result, string Image)>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var baseImage = dir.File($"{side}.base");
            var header = dir.File($"{side}.qcow2");
            var overlay = dir.File($"{side}.qcow");
            using (var stream = File.Create(baseImage))
            {
                stream.SetLength(4 << 20);
            }

            ExternalTool.QemuImg("create", "-q", "-f", "qcow", "-b", baseImage, "-F", "raw", overlay, "4M");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", header, "4M");
            using (var stream = File.OpenWrite(header))
            {
                stream.SetLength(4 << 20);
            }

            ExternalTool.QemuImg("convert", "-n", "-f", "raw", "-O", "qcow", header, overlay);
            results.Add((side == "theirs" ? ExternalTool.Run("qemu-img", "commit", "-f", "qcow", overlay) : Diskimg.Run("commit", "-f", "qcow", overlay), overlay));
            Assert.Contains("file format: raw", ExternalTool.QemuImg("info", baseImage), StringComparison.Ordinal);
        }

        Assert.NotEqual(0, results[0].Result.ExitCode);
        AssertSame(results[0], results[1]);
    }

    /// <summary>qemu-io's write of a format header into block 0 of a probed raw image fails with EPERM.</summary>
    [Fact]
    public void Qemu_io_header_write_into_a_probed_raw_image_matches()
    {
        using var dir = new TempDirectory();
        var header = dir.File("header");
        File.WriteAllBytes(header, [(byte)'Q', (byte)'F', (byte)'I', 0xfb, 0, 0, 0, 1]);
        var results = new List<(ExternalTool.Result Result, string Image)>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var image = dir.File($"{side}.raw");
            using (var stream = File.Create(image))
            {
                stream.SetLength(1 << 20);
            }

            string[] arguments = ["-c", $"write -s {header} 0 8", "-c", "read -P 0 0 8", image];
            results.Add((side == "theirs" ? ExternalTool.Run("qemu-io", arguments) : Diskimg.Run(["io", .. arguments]), image));
        }

        Assert.Contains("Operation not permitted", results[0].Result.StdErr + results[0].Result.StdOut, StringComparison.Ordinal);
        AssertSame(results[0], results[1]);
    }

    /// <summary>A qcow node over a qcow node (<c>file.driver=qcow</c>) reads the inner image's guest data (iotest 072).</summary>
    [Fact]
    public void Qcow_over_a_qcow_node_reads_as_in_qemu_io()
    {
        using var dir = new TempDirectory();
        var inner = dir.File("inner.qcow");
        var outer = dir.File("outer.qcow");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow", inner, "4M");
        ExternalTool.QemuIo("-f", "qcow", "-c", "write -P 42 0 512", "-c", "write -P 23 512 512", inner);
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow", inner, outer);
        string[] arguments = ["-c", $"open -o driver=qcow,file.driver=qcow,file.file.filename={outer}", "-c", "read -P 42 0 512", "-c", "read -P 23 512 512", "-c", "read -P 0 1024 512"];
        var theirs = ExternalTool.Run("qemu-io", arguments);
        var ours = Diskimg.Run(["io", .. arguments]);
        Assert.Equal(0, theirs.ExitCode);
        AssertSame((theirs, outer), (ours, outer));
    }

    /// <summary>Over a quorum node a relative backing name has no directory to resolve against (iotest 110).</summary>
    [Fact]
    public void Relative_backing_file_over_quorum_has_no_actual_path_as_in_qemu_img()
    {
        using var dir = new TempDirectory();
        var baseImage = dir.File("t.qcow.base");
        var image = dir.File("t.qcow");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow", baseImage, "4M");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow", "-b", "t.qcow.base", "-F", "qcow", image, "4M");
        File.Copy(image, image + ".copy");
        var json = $"json:{{'driver': 'qcow', 'file': {{'driver': 'quorum', 'vote-threshold': 1, 'children': [{{'driver': 'file', 'filename': '{image}'}}, {{'driver': 'file', 'filename': '{image}.copy'}}]}}}}";
        var theirs = ExternalTool.Run("qemu-img", "info", json);
        var ours = Diskimg.Run("info", json);
        Assert.Contains("(cannot determine actual path)", theirs.StdOut, StringComparison.Ordinal);
        AssertSame((theirs, image), (ours, image));
    }

    /// <summary>
    /// create's words when the backing file does not open in the named format (the failing layer names it, not
    /// qemu-img) or the backing format is unknown: refused before the image is made, or with -u made first and then
    /// refused by the format (iotest 301).
    /// </summary>
    [Theory]
    [InlineData("qcow", new[] { "-F", "vmdk" }, "32M")]
    [InlineData("qcow", new[] { "-F", "vmdk" }, "")]
    [InlineData("qcow2", new[] { "-F", "vmdk" }, "32M")]
    [InlineData("qcow", new[] { "-F", "garbage" }, "32M")]
    [InlineData("qcow", new[] { "-u", "-F", "garbage" }, "32M")]
    [InlineData("qcow2", new[] { "-u", "-F", "garbage" }, "32M")]
    [InlineData("qcow", new[] { "-u", "-F", "garbage" }, "")]
    [InlineData("qcow2", new[] { "-F", "qcow2" }, "32M")]
    public void Create_with_a_backing_file_it_cannot_use_matches(string format, string[] options, string size)
    {
        using var dir = new TempDirectory();
        var baseImage = dir.File("base.qcow");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow", baseImage, "32M");
        var image = dir.File($"new.{format}");
        string[] arguments = ["create", "-f", format, "-b", baseImage, .. options, image, .. size.Length > 0 ? new[] { size } : []];
        var theirs = ExternalTool.Run("qemu-img", arguments);
        var theirFile = File.Exists(image);
        File.Delete(image);
        var ours = Diskimg.Run(arguments);
        Assert.NotEqual(0, theirs.ExitCode);
        AssertSame((theirs, image), (ours, image));
        Assert.Equal(theirFile, File.Exists(image));
    }

    private static void AssertSame((ExternalTool.Result Result, string Image) theirs, (ExternalTool.Result Result, string Image) ours)
    {
        Assert.Equal(QemuToolOutput.Normalise(theirs.Result.StdOut, theirs.Image), QemuToolOutput.Normalise(ours.Result.StdOut, ours.Image));
        Assert.Equal(QemuToolOutput.Normalise(theirs.Result.StdErr, theirs.Image), QemuToolOutput.Normalise(ours.Result.StdErr, ours.Image));
        Assert.Equal(theirs.Result.ExitCode, ours.Result.ExitCode);
    }
}
