using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// A qcow2 external data file given as a node of its own in a <c>json:</c> name (as iotest 289 does): a raw node over
/// the file, a raw node over a blkdebug node, or a blkdebug node over the file. The raw node raises read_aio and
/// write_aio on the blkdebug node below it, so rules for those events fail the guest's data requests. qemu-io 7.2 and
/// <c>diskimg io</c> run the same commands on identical images; output, exit code, the images and qemu-img check's
/// verdict must match.
/// </summary>
public class DataFileNodeInteropTests
{
    public static TheoryData<string, string, string[]> Cases => new()
    {
        // iotest 289: the data write fails once; nothing is leaked or freed wrongly.
        { "raw-blkdebug", "[inject-error]\nevent = \"write_aio\"\nerrno = \"5\"\nonce = \"on\"\n", ["write -P 7 0 64k", "read -P 0 0 64k", "write -P 8 0 64k", "read -P 8 0 64k"] },
        { "raw-blkdebug", "[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nonce = \"on\"\n", ["write -P 7 0 64k", "read -P 7 0 64k", "read -P 7 0 64k"] },
        { "blkdebug", "[inject-error]\nevent = \"none\"\nerrno = \"28\"\nonce = \"on\"\n", ["write -P 7 0 64k", "write -P 9 64k 64k", "read -P 9 64k 64k"] },
        { "raw-file", "", ["write -P 7 0 64k", "read -P 7 0 64k", "map"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Requests_through_a_data_file_node_match_qemu_io(string kind, string config, string[] commands)
    {
        using var dir = new TempDirectory();
        var conf = dir.File("blkdebug.conf");
        File.WriteAllText(conf, config);
        var result = new List<(ExternalTool.Result Run, string Image)>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var image = dir.File(side + ".qcow2");
            var data = dir.File(side + ".data");
            ExternalTool.QemuImg("create", "-f", "qcow2", "-o", $"data_file={data}", image, "1M");
            var name = Name(kind, image, data, conf);
            string[] arguments = [.. commands.SelectMany(c => new[] { "-c", c }), name];
            result.Add((side == "theirs" ? ExternalTool.Run("qemu-io", arguments) : Diskimg.Run(["io", .. arguments]), image));
        }

        var (theirs, theirImage) = result[0];
        var (ours, ourImage) = result[1];
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut, theirImage), QemuToolOutput.Normalise(ours.StdOut, ourImage));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr, theirImage), QemuToolOutput.Normalise(ours.StdErr, ourImage));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        var theirCheck = ExternalTool.Run("qemu-img", "check", theirImage);
        var ourCheck = ExternalTool.Run("qemu-img", "check", ourImage);
        Assert.Equal(theirCheck.StdOut, ourCheck.StdOut);
        Assert.Equal(theirCheck.ExitCode, ourCheck.ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", theirImage, ourImage).ExitCode);
    }

    private static string Name(string kind, string image, string data, string conf)
    {
        var dataFile = kind switch
        {
            "raw-blkdebug" => $"{{\"driver\": \"raw\", \"file\": {{\"driver\": \"blkdebug\", \"config\": \"{conf}\", \"image\": {{\"driver\": \"file\", \"filename\": \"{data}\"}}}}}}",
            "blkdebug" => $"{{\"driver\": \"blkdebug\", \"config\": \"{conf}\", \"image\": {{\"driver\": \"file\", \"filename\": \"{data}\"}}}}",
            _ => $"{{\"driver\": \"raw\", \"file\": {{\"driver\": \"file\", \"filename\": \"{data}\"}}}}",
        };
        return $"json:{{\"driver\": \"qcow2\", \"file\": {{\"driver\": \"file\", \"filename\": \"{image}\"}}, \"data-file\": {dataFile}}}";
    }
}
