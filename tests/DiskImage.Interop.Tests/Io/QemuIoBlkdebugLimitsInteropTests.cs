using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// A blkdebug node above qcow2 (<c>open -o driver=blkdebug,image.driver=qcow2,LIMITS blkdebug::PATH</c>, as iotests 177
/// and 204 drive it): its request limits decide which parts of a write-zeroes request become zero clusters and which
/// are written as zero bytes, and which parts of a discard reach qcow2. qemu-io 7.2 and <c>diskimg io</c> run the same
/// commands on identical images; their output, exit code, the images' contents and qemu-img's map of each must match.
/// </summary>
public class QemuIoBlkdebugLimitsInteropTests
{
    private const string Options = "driver=blkdebug,image.driver=qcow2";

    public static TheoryData<string, string[]> Cases => new()
    {
        // Aligned and unaligned zero writes with an optimal size of one cluster and a small transfer limit.
        { "align=512,max-transfer=16k,opt-write-zero=64k", ["write -z 0x31000 0x47000", "read -P 0 0x31000 0x47000"] },
        // A size that is not a power of two: pieces shorter than it are written as data.
        { "align=512,opt-write-zero=192k,max-write-zero=192k", ["write -z 1M 1M", "read -P 0 1M 1M"] },
        { "align=4k,opt-write-zero=192k,max-write-zero=192k", ["write -z 0x10200 0x80000", "read -P 22 0 0x10200", "read -P 0 0x10200 0x80000"] },
        // Discards cut at a non-power-of-two alignment, starting at an odd offset.
        { "align=512,opt-discard=192k,max-discard=192k", ["discard 1000001 1M", "read -P 22 0 0x80000"] },
        { "align=4k,max-transfer=64k", ["write -P 33 1000 128k", "read -P 33 1000 128k", "alloc 1 1", "alloc 0x1fffff0 1000", "map"] },
        // Limits QEMU refuses, with its messages.
        { "align=3", ["read 0 512"] },
        { "max-transfer=1000", ["read 0 512"] },
        { "align=4k,opt-write-zero=6k", ["read 0 512"] },
        { "opt-write-zero=64k,max-write-zero=96k", ["read 0 512"] },
        { "align=4k,opt-discard=2k", ["read 0 512"] },
        { "opt-discard=64k,max-discard=96k", ["read 0 512"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Requests_through_a_blkdebug_node_with_limits_match_qemu_io(string limits, string[] commands)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", theirs, "32M");
        ExternalTool.Run("qemu-io", "-f", "qcow2", "-c", "write -P 22 0 32M", theirs);
        File.Copy(theirs, ours);

        var theirResult = ExternalTool.Run("qemu-io", [.. Arguments(limits, commands, theirs)]);
        var ourResult = Diskimg.Run(["io", .. Arguments(limits, commands, ours)]);

        Assert.Equal(QemuToolOutput.Normalise(theirResult.StdOut, theirs), QemuToolOutput.Normalise(ourResult.StdOut, ours));
        Assert.Equal(QemuToolOutput.Normalise(theirResult.StdErr, theirs), QemuToolOutput.Normalise(ourResult.StdErr, ours));
        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-q", "-f", "qcow2", "-F", "qcow2", theirs, ours).ExitCode);
        // Which clusters are data and which are zero is what the limits decide.
        Assert.Equal(ExternalTool.Run("qemu-img", "map", "--output=json", "-f", "qcow2", theirs).StdOut,
            ExternalTool.Run("qemu-img", "map", "--output=json", "-f", "qcow2", ours).StdOut);
    }

    [Fact]
    public void Map_through_a_blkdebug_node_given_as_image_opts_matches_qemu_img()
    {
        using var dir = new TempDirectory();
        var image = dir.File("t.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "8M");
        ExternalTool.Run("qemu-io", "-f", "qcow2", "-c", "write -P 1 0 1M", "-c", "write -z 2M 1M", image);
        var options = $"{Options},image.file.driver=file,image.file.filename={image},align=4k";

        var theirs = ExternalTool.Run("qemu-img", "map", "--image-opts", options);
        var ours = Diskimg.Run(["map", "--image-opts", options]);

        Assert.Equal(0, theirs.ExitCode);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    private static IEnumerable<string> Arguments(string limits, string[] commands, string image) =>
        new[] { "-c", $"open -o {Options},{limits} blkdebug::{image}" }.Concat(commands.SelectMany(c => new[] { "-c", c }));
}
