using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Ssh;

/// <summary>
/// Creating the other formats on an SSH server: qemu-img writes them through its ssh driver, and so does diskimg.
/// Formats whose files hold nothing random are compared byte for byte; vpc, vdi, vhdx, vmdk and luks carry fresh
/// UUIDs, CIDs, salts or (vhdx) diskimg's creator name, so there the length, qemu-img's info (without those) and
/// check on the file left on the server are compared.
/// </summary>
public partial class SshInteropTests
{
    /// <summary>qemu-img's info on the file, without what is random (vmdk's CID, luks's UUID and timed iteration counts) or the server's allocation.</summary>
    private static string[] Info(string format, string path) =>
        ExternalTool.QemuImg("info", "-f", format, "--output=json", path).Split('\n')
            .Where(line => !line.Contains("\"cid\"", StringComparison.Ordinal) && !line.Contains("\"uuid\"", StringComparison.Ordinal)
                && !line.Contains("iters\"", StringComparison.Ordinal)
                && !line.Contains("\"actual-size\"", StringComparison.Ordinal))
            .ToArray();

    [Theory]
    [InlineData("qed", true)]
    [InlineData("qcow", true)]
    [InlineData("parallels", true)]
    [InlineData("vpc", false)]
    [InlineData("vdi", false)]
    [InlineData("vhdx", false)]
    [InlineData("vmdk", false)]
    [InlineData("luks", false)]
    public void Create_makes_other_formats_on_the_server(string format, bool exact)
    {
        var target = Local("other." + format);
        string[] arguments = format == "luks"
            ? ["create", "-f", format, "--object", "secret,id=s0,data=pass", "-o", "key-secret=s0,iter-time=10", server.Uri("other." + format), "3M"]
            : ["create", "-f", format, server.Uri("other." + format), "3M"];
        var theirs = ExternalTool.Run("qemu-img", arguments);
        var theirBytes = File.ReadAllBytes(target);
        var theirInfo = Info(format, target);
        File.Delete(target);
        AssertSame(theirs, Diskimg.Run(arguments), string.Join(' ', arguments));
        var ourBytes = File.ReadAllBytes(target);
        if (exact)
        {
            Assert.Equal(theirBytes, ourBytes);
        }
        else
        {
            Assert.Equal(theirBytes.Length, ourBytes.Length);
            Assert.Equal(theirInfo, Info(format, target));
        }

        if (format is not "vpc" and not "luks" and not "qcow")
        {
            Assert.Equal(0, ExternalTool.Run("qemu-img", "check", "-f", format, target).ExitCode);
        }
    }

    [Fact]
    public void File_protocol_options_are_refused_over_ssh_as_qemu_img_refuses_them()
    {
        Image("opt-source.qcow2", "qcow2", "1M");
        Same("create", "-f", "raw", "-o", "preallocation=off", server.Uri("opt.raw"), "1M");
        Same("create", "-f", "raw", "-o", "size=1M,nocow=on", server.Uri("opt.raw"));
        Same("create", "-f", "qcow2", "-o", "nocow=on", server.Uri("opt.qcow2"), "1M");
        Same("create", "-f", "vpc", "-o", "extent_size_hint=1M", server.Uri("opt.vpc"), "1M");
        Same("convert", "-O", "raw", "-o", "preallocation=full", Local("opt-source.qcow2"), server.Uri("opt.raw"));
        Assert.False(File.Exists(Local("opt.raw")));
        Assert.False(File.Exists(Local("opt.qcow2")));
    }

    /// <summary>
    /// A qcow2 image preallocated on the server: metadata maps every cluster (the file grows by writing its last byte,
    /// as the ssh driver grows it), byte for byte as qemu-img's; falloc and full need the file preallocated, which the
    /// ssh driver refuses with qemu-img's line and exit code. A refused create leaves a file on the server, as qemu-img
    /// leaves one, which must pass qemu-img's check (its bytes differ: qemu-img leaves its header at size 0).
    /// </summary>
    [Theory]
    [InlineData("metadata")]
    [InlineData("falloc")]
    [InlineData("full")]
    public void Preallocated_qcow2_on_the_server_is_made_or_refused_as_qemu_img_does(string mode)
    {
        var name = $"prealloc-{mode}.qcow2";
        string[] arguments = ["create", "-f", "qcow2", "-o", "preallocation=" + mode, server.Uri(name), "3M"];
        var theirs = ExternalTool.Run("qemu-img", arguments);
        var theirBytes = File.ReadAllBytes(Local(name));
        File.Delete(Local(name));
        AssertSame(theirs, Diskimg.Run(arguments), string.Join(' ', arguments));
        var ourBytes = File.ReadAllBytes(Local(name));
        if (theirs.ExitCode == 0)
        {
            Assert.Equal(theirBytes, ourBytes);
        }

        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", Local(name)).ExitCode);
    }
}
