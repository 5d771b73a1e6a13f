using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// <c>qemu-img info</c> of a <c>blkdebug</c> node above a format: the node's name and driver with what the format tells
/// through it, compared with qemu-img 7.2 on the same command lines (text and JSON, <c>json:</c> and <c>--image-opts</c>).
/// </summary>
public class BlkdebugNodeInfoInteropTests
{
    public static TheoryData<string, string> Nodes => new()
    {
        { "qcow2", "json:{\"driver\":\"blkdebug\",\"image\":{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"IMG\"}}}" },
        { "qcow2", "json:{\"driver\":\"blkdebug\",\"config\":\"CONF\",\"image\":{\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"IMG\"}}}" },
        { "raw", "json:{\"driver\":\"blkdebug\",\"image\":{\"driver\":\"raw\",\"file\":{\"driver\":\"file\",\"filename\":\"IMG\"}}}" },
        { "qcow2", "--image-opts driver=blkdebug,image.driver=qcow2,image.file.driver=file,image.file.filename=IMG" },
    };

    [Theory]
    [MemberData(nameof(Nodes))]
    public void Info_of_a_blkdebug_node_above_a_format_is_qemu_img_s(string format, string name)
    {
        using var dir = new TempDirectory();
        var image = dir.File("t." + format);
        var backing = dir.File("b.qcow2");
        var config = dir.File("debug.conf");
        File.WriteAllText(config, "\n");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", backing, "1M");
        if (format == "qcow2")
        {
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", image, "1M");
            ExternalTool.QemuIo("-c", "write 0 64k", image);
            ExternalTool.QemuImg("snapshot", "-c", "s1", image);
        }
        else
        {
            ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "1M");
        }

        foreach (var output in new[] { "human", "json" })
        {
            var arguments = name.Replace("IMG", image, StringComparison.Ordinal).Replace("CONF", config, StringComparison.Ordinal).Split(' ');
            string[] command = ["info", "--output=" + output, .. arguments];
            var theirs = ExternalTool.Run("qemu-img", command);
            var ours = Diskimg.Run(command);
            Assert.Equal(0, theirs.ExitCode);
            Assert.Contains("blkdebug", theirs.StdOut, StringComparison.Ordinal);
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            Assert.Equal(theirs.StdOut, ours.StdOut);
        }
    }
}
