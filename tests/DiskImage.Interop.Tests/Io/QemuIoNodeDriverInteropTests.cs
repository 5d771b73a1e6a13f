using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// Images named by node options rather than a path, as iotests 158, 214 and 226 name them: the backing node's file
/// given in the options, filter drivers spelled as <c>--image-opts</c> lists and in <c>open -o</c>, and the host
/// protocol drivers as the top node. Each command line runs with qemu-io and with <c>diskimg io</c> on identical
/// inputs; stdout, stderr (paths and program name normalised) and exit codes must match, and changed images must
/// hold the same data and clusters by qemu-img's account.
/// </summary>
public class QemuIoNodeDriverInteropTests
{
    /// <summary>
    /// <c>backing.file.filename</c> names a backing file other than the one in the overlay's header: reads go to the
    /// named one. ALT holds 0x44 at 1 MiB where the header's backing file holds 0x11.
    /// </summary>
    public static TheoryData<string[]> BackingCommands => new()
    {
        new[] { "--image-opts", "-c", "read -P 0x44 1M 4k", "-c", "read -P 0 2M 4k", "driver=qcow2,file.filename=OVL,backing.driver=qcow2,backing.file.filename=ALT" },
        new[] { "--image-opts", "-c", "write -P 0x55 1M+64k 512", "-c", "read -P 0x44 1M 64k", "driver=qcow2,file.filename=OVL,backing.file.driver=file,backing.file.filename=ALT" },
        new[] { "-c", "read -P 0x44 1M 4k", "json:{\"driver\": \"qcow2\", \"file\": {\"filename\": \"OVL\"}, \"backing\": {\"driver\": \"qcow2\", \"file\": {\"filename\": \"ALT\"}}}" },
        new[] { "-c", "open -o backing.driver=qcow2,backing.file.filename=ALT OVL", "-c", "read -P 0x44 1M 4k" },
        new[] { "--image-opts", "-c", "read -P 0x11 1M 4k", "driver=qcow2,file.filename=OVL" },
    };

    [Theory]
    [MemberData(nameof(BackingCommands))]
    public void A_backing_file_named_in_the_options_is_the_one_read(string[] arguments)
    {
        using var dir = new TempDirectory();
        var results = new List<(ExternalTool.Result Result, string Overlay, string Alt)>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var backing = dir.File($"{side}.base.qcow2");
            var alt = dir.File($"{side}.alt.qcow2");
            var overlay = dir.File($"{side}.qcow2");
            ExternalTool.QemuImg("create", "-f", "qcow2", backing, "4M");
            ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x11 1M 128k", backing);
            ExternalTool.QemuImg("create", "-f", "qcow2", alt, "4M");
            ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x44 1M 128k", alt);
            ExternalTool.QemuImg("create", "-f", "qcow2", "-b", backing, "-F", "qcow2", overlay);
            var resolved = arguments.Select(a => a.Replace("OVL", overlay, StringComparison.Ordinal).Replace("ALT", alt, StringComparison.Ordinal)
                .Replace("1M+64k", "1114112", StringComparison.Ordinal)).ToArray();
            results.Add((side == "theirs" ? ExternalTool.Run("qemu-io", resolved) : Diskimg.Run(["io", .. resolved]), overlay, alt));
        }

        var (theirs, theirOverlay, _) = results[0];
        var (ours, ourOverlay, _) = results[1];
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut, theirOverlay), QemuToolOutput.Normalise(ours.StdOut, ourOverlay));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr, theirOverlay), QemuToolOutput.Normalise(ours.StdErr, ourOverlay));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);

        // A partial write copies the rest of its cluster from the named backing file, in both.
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-U", "-f", "qcow2", "-F", "qcow2", theirOverlay, ourOverlay).ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ourOverlay).ExitCode);
    }

    /// <summary>The compress filter and copy-on-read filter spelled as --image-opts lists and in open -o (over IMG, a qcow2 image).</summary>
    public static TheoryData<string[]> FilterCommands => new()
    {
        new[] { "--image-opts", "-c", "write -P 0x33 10k 150k", "driver=compress,file.driver=qcow2,file.file.driver=file,file.file.filename=IMG" },
        new[] { "-c", "open -o driver=compress,file.driver=qcow2,file.file.filename=IMG", "-c", "write -P 0x33 64k 128k", "-c", "read -P 0x33 64k 128k" },
        new[] { "-c", "open -o driver=compress,file.driver=qcow2 IMG", "-c", "write -P 0x34 0 64k" },
        new[] { "--image-opts", "-c", "write -P 0x35 0 64k", "driver=compress,file.driver=qcow2,file.file.filename=IMG,bogus=1" },
        new[] { "--image-opts", "-c", "read 0 4k", "driver=copy-on-read,file.driver=qcow2,file.file.filename=IMG" },
        new[] { "--image-opts", "-c", "read 0 4k", "driver=compress" },
    };

    [Theory]
    [MemberData(nameof(FilterCommands))]
    public void Filter_drivers_read_alike_in_every_spelling(string[] arguments)
    {
        using var dir = new TempDirectory();
        var results = new List<(ExternalTool.Result Result, string Image)>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var image = dir.File($"{side}.qcow2");
            ExternalTool.QemuImg("create", "-f", "qcow2", image, "2M");
            var resolved = arguments.Select(a => a.Replace("IMG", image, StringComparison.Ordinal)).ToArray();
            results.Add((side == "theirs" ? ExternalTool.Run("qemu-io", resolved) : Diskimg.Run(["io", .. resolved]), image));
        }

        var (theirs, theirImage) = results[0];
        var (ours, ourImage) = results[1];
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut, theirImage), QemuToolOutput.Normalise(ours.StdOut, ourImage));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr, theirImage), QemuToolOutput.Normalise(ours.StdErr, ourImage));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(ExternalTool.Run("qemu-io", "-f", "qcow2", "-c", "map", theirImage).StdOut.Replace(theirImage, "IMG", StringComparison.Ordinal),
            ExternalTool.Run("qemu-io", "-f", "qcow2", "-c", "map", ourImage).StdOut.Replace(ourImage, "IMG", StringComparison.Ordinal));
        Assert.Equal(CompressedClusters(theirImage), CompressedClusters(ourImage));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-U", "-f", "qcow2", "-F", "qcow2", theirImage, ourImage).ExitCode);
    }

    /// <summary>The host protocol drivers as the top node, on a directory (DIR) and on a character device.</summary>
    public static TheoryData<string> ProtocolCommands => new()
    {
        "open -r -o driver=file,filename=DIR",
        "open -o driver=file,filename=DIR",
        "open -r -o driver=file,filename=/dev/null,locking=off",
        "open -o driver=file,filename=/dev/null,locking=off",
        "open -r -o driver=host_device,filename=DIR",
        "open -o driver=host_device,filename=DIR",
        "open -r -o driver=host_device,filename=/dev/null,locking=off",
        "open -r -o driver=host_cdrom,filename=DIR",
        "open -r -o driver=file,filename=FILE",
        "open -o driver=file,filename=FILE,locking=sometimes",
        "open -r -o driver=file,filename=FILE,bogus=1",
    };

    [Theory]
    [MemberData(nameof(ProtocolCommands))]
    public void Protocol_drivers_check_the_kind_of_file_as_qemu_io_does(string command)
    {
        using var dir = new TempDirectory();
        var directory = dir.File("dir");
        Directory.CreateDirectory(directory);
        var file = dir.File("file.raw");
        File.WriteAllBytes(file, new byte[65536]);
        string[] arguments = ["-c", command.Replace("DIR", directory, StringComparison.Ordinal).Replace("FILE", file, StringComparison.Ordinal), "-c", "length"];
        var theirs = ExternalTool.Run("qemu-io", arguments);
        var ours = Diskimg.Run(["io", .. arguments]);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr, directory), QemuToolOutput.Normalise(ours.StdErr, directory));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    /// <summary>
    /// An image whose name no file name reconstructs (blkdebug with inline rules, a quorum of copies) is named by its
    /// JSON description, and a relative backing name under a quorum has no actual path; as in iotest 110.
    /// </summary>
    [Theory]
    [InlineData("{'driver': 'qcow2', 'file': {'driver': 'blkdebug', 'image': {'driver': 'file', 'filename': 'IMG'}, 'set-state': [{'event': 'read_aio', 'new_state': 42}]}}")]
    [InlineData("{'driver': 'qcow2', 'file': {'driver': 'quorum', 'vote-threshold': 1, 'children': [{'driver': 'file', 'filename': 'IMG'}, {'driver': 'file', 'filename': 'IMG.copy'}]}}")]
    [InlineData("{'driver': 'qcow2', 'file': {'driver': 'quorum', 'vote-threshold': 3, 'children': [{'driver': 'file', 'filename': 'IMG'}, {'driver': 'file', 'filename': 'IMG.copy'}]}}")]
    public void Info_names_an_image_without_a_plain_file_name_by_its_json_description(string json)
    {
        using var dir = new TempDirectory();
        var image = dir.File("t.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image + ".base", "64M");
        ExternalTool.RunIn(dir.Path, "qemu-img", "create", "-f", "qcow2", "-b", "t.qcow2.base", "-F", "qcow2", image, "64M").EnsureSuccess("qemu-img create");
        File.Copy(image, image + ".copy");
        var name = "json:" + json.Replace("IMG", image, StringComparison.Ordinal);
        var theirs = ExternalTool.Run("qemu-img", "info", name);
        var ours = Diskimg.Run("info", name);
        Assert.Equal(FilterJson(theirs.StdOut), FilterJson(ours.StdOut));
        Assert.Equal(FilterJson(QemuToolOutput.Normalise(theirs.StdErr)), FilterJson(QemuToolOutput.Normalise(ours.StdErr)));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    /// <summary>Reads through a read-only quorum of three copies, one of which differs in a range.</summary>
    [Theory]
    [InlineData(2, "read -P 0x11 0 64k")]
    [InlineData(2, "read -P 0x11 1M 64k")]
    [InlineData(3, "read -P 0x11 0 64k")]
    [InlineData(3, "read 1M 64k")]
    [InlineData(1, "read -P 0x11 1M 4k")]
    public void A_quorum_of_copies_votes_as_in_qemu_io(int threshold, string command)
    {
        using var dir = new TempDirectory();
        var copies = new[] { dir.File("a.qcow2"), dir.File("b.qcow2"), dir.File("c.qcow2") };
        ExternalTool.QemuImg("create", "-f", "qcow2", copies[0], "4M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x11 0 2M", copies[0]);
        File.Copy(copies[0], copies[1]);
        File.Copy(copies[0], copies[2]);
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x22 1M 64k", copies[2]);
        var children = string.Join(", ", copies.Select(c => $"{{\"driver\": \"file\", \"filename\": \"{c}\"}}"));
        var name = $"json:{{\"driver\": \"raw\", \"file\": {{\"driver\": \"quorum\", \"vote-threshold\": {threshold}, \"children\": [{children}]}}}}";
        var theirs = ExternalTool.Run("qemu-io", "-r", "-c", command, name);
        var ours = Diskimg.Run("io", "-r", "-c", command, name);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    /// <summary>iotests' _filter_json_filename: a json: name's content is not compared, only that one is printed.</summary>
    private static string FilterJson(string text) => System.Text.RegularExpressions.Regex.Replace(text, "json:\\{.*\\}", "json:{ /* filtered */ }");

    private static string CompressedClusters(string path) =>
        System.Text.RegularExpressions.Regex.Match(ExternalTool.Run("qemu-img", "check", "--output=json", path).StdOut, "\"compressed-clusters\": *[0-9]+").Value;
}
