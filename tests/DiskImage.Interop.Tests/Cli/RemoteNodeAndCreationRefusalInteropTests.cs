using DiskImage.Formats;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// What QEMU's iotests 162 and 113 exercise, pinned here because CI cannot run QEMU's scripts: the ssh driver's options
/// and its failure to reach a server, the nbd driver's address-resolution failure, the name of a null node (under
/// blkdebug too), and qemu-img's refusal to create images in drivers that cannot create any. qemu-img and diskimg run
/// on identical command lines; stdout, stderr (program name normalised) and the exit code must be equal.
/// </summary>
public class RemoteNodeAndCreationRefusalInteropTests
{
    // Port 0 on the loopback address refuses every connection; .invalid names never resolve (RFC 6761).
    [Theory]
    [InlineData("""json:{"driver": "ssh", "host": "localhost", "port": "0", "path": "/foo"}""")]
    [InlineData("""json:{"driver": "ssh", "host": "localhost", "port": 0.42, "path": "/foo"}""")]
    [InlineData("""json:{"driver": "ssh", "host": "localhost", "port": "x1", "path": "/x"}""")]
    [InlineData("""json:{"driver": "ssh", "path": "/foo"}""")]
    [InlineData("""json:{"driver": "ssh", "host": "localhost"}""")]
    [InlineData("""json:{"driver": "ssh", "port": "1", "path": "/x"}""")]
    [InlineData("""json:{"driver": "ssh", "host": "localhost", "path": "/x", "bogus": 1}""")]
    [InlineData("""json:{"driver": "ssh", "server.host": "localhost", "server.port": "x1", "path": "/x"}""")]
    [InlineData("""json:{"driver": "ssh", "server.host": "localhost", "path": "/x"}""")]
    [InlineData("""json:{"driver": "ssh", "server.host": "localhost", "server.port": "0", "path": "/x", "host_key_check": "zz"}""")]
    [InlineData("""json:{"driver": "ssh", "server.host": "localhost", "server.port": "0", "path": "/x", "host-key-check.mode": "zz"}""")]
    [InlineData("""json:{"driver": "ssh", "server.host": "localhost", "server.port": "0", "path": "/x", "host-key-check.mode": "hash"}""")]
    [InlineData("""json:{"driver": "ssh", "server.host": "localhost", "server.port": "0", "path": "/x", "host-key-check.mode": "none", "user": "nobody"}""")]
    [InlineData("""json:{"driver": "ssh", "server.host": "localhost", "server.port": "0", "path": "/x", "server.ipv4": "zz"}""")]
    [InlineData("""json:{"driver": "ssh", "server.host": "localhost", "server.port": "0", "path": "/x", "server.to": "99999"}""")]
    [InlineData("""json:{"driver": "ssh", "server.host": "localhost", "server.port": "0", "path": "/x", "server.foo": "x"}""")]
    [InlineData("""json:{"driver": "ssh", "server.host": "localhost", "server.port": "70000", "path": "/x"}""")]
    [InlineData("""json:{"driver": "ssh", "filename": "ssh://localhost/x"}""")]
    [InlineData("""json:{"driver": "qcow2", "file.driver": "ssh", "file.host": "localhost", "file.port": "0", "file.path": "/x"}""")]
    [InlineData("ssh://localhost")]
    [InlineData("ssh://localhost:0/foo?host_key_check=bad")]
    [InlineData("ssh://nosuchhost.invalid/foo")]
    [InlineData("""json:{"driver": "nbd", "host": -1}""")]
    [InlineData("""json:{"driver": "nbd", "server.type": "inet", "server.host": "nosuchhost.invalid", "server.port": "10809"}""")]
    [InlineData("nbd://nosuchhost.invalid/x")]
    public void Info_on_a_remote_node_fails_as_qemu_img_does(string name)
    {
        AssertSame(ExternalTool.Run("qemu-img", "info", name), Diskimg.Run("info", name));
    }

    [Theory]
    [InlineData("driver=ssh,host=localhost,port=0,path=/foo")]
    [InlineData("driver=ssh,host=localhost,port=0.42,path=/foo")]
    [InlineData("driver=qcow2,file.driver=ssh,file.host=nosuchhost.invalid,file.path=/x")]
    public void Info_with_image_opts_on_an_ssh_node_fails_as_qemu_img_does(string options)
    {
        AssertSame(ExternalTool.Run("qemu-img", "info", "--image-opts", options), Diskimg.Run("info", "--image-opts", options));
    }

    // A null node is named DRIVER:// unless an option changes what it reads; blkdebug over it is then blkdebug:CONFIG:null-co://.
    [Theory]
    [InlineData("""json:{"driver": "null-co"}""")]
    [InlineData("""json:{"driver": "null-aio", "latency-ns": 5}""")]
    [InlineData("""json:{"driver": "blkdebug", "config": "{cfg}", "image.driver": "null-co"}""")]
    public void A_null_node_is_named_as_qemu_img_names_it(string name)
    {
        using var dir = new TempDirectory();
        var config = dir.File("blkdebug.cfg");
        File.WriteAllText(config, "");
        name = name.Replace("{cfg}", config, StringComparison.Ordinal);
        AssertSame(ExternalTool.Run("qemu-img", "info", name), Diskimg.Run("info", name));
    }

    public static TheoryData<string> DriversWithoutCreation() => [.. QemuFormatNames.WithoutCreation];

    [Fact]
    public void The_drivers_without_creation_are_those_qemu_img_lists()
    {
        var help = ExternalTool.Run("qemu-img", "--help").StdOut;
        var line = help.Split('\n').Single(l => l.StartsWith("Supported formats:", StringComparison.Ordinal));
        var supported = line["Supported formats:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(QemuFormatNames.WithoutCreation, name => Assert.Contains(name, supported));
        Assert.All(supported, name => Assert.True(QemuFormatNames.IsKnown(name), name));
    }

    [Theory]
    [MemberData(nameof(DriversWithoutCreation))]
    public void Create_convert_and_measure_refuse_a_driver_without_creation_as_qemu_img(string driver)
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", source, "1M");
        var target = dir.File("target.img");
        string[][] commands =
        [
            ["create", "-f", driver, target, "1M"],
            ["create", "-f", driver, "nbd://example.com", "64M"],
            ["create", "-f", driver, "-o", "help"],
            ["convert", "-f", "raw", "-O", driver, source, target],
            ["convert", "-O", driver, "-o", "help", source, target],
            ["measure", "-O", driver, "--size", "1M"],
            ["measure", "-O", driver, source],
            ["amend", "-f", driver, "-o", "help"],
        ];
        foreach (var args in commands)
        {
            var theirs = ExternalTool.Run("qemu-img", args);
            var theirTarget = File.Exists(target);
            File.Delete(target);
            var ours = Diskimg.Run(args);
            AssertSame(theirs, ours);
            Assert.Equal(theirTarget, File.Exists(target));
        }
    }

    private static void AssertSame(ExternalTool.Result theirs, ExternalTool.Result ours)
    {
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }
}
