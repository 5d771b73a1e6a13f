using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Crypto;

/// <summary><c>diskimg amend</c> key slot changes on qemu-made LUKS qcow2 images, judged by qemu-img and qemu-io.</summary>
public class Qcow2AmendInteropTests
{
    private static string Opts(string path, string id) => $"driver=qcow2,file.filename={path},encrypt.key-secret={id}";

    private static ExternalTool.Result QemuRead(string path, string id, string value) =>
        ExternalTool.Run("qemu-io", "--object", $"secret,id={id},data={value}", "--image-opts", Opts(path, id), "-c", "read -P 0x5c 0 64k");

    [Fact]
    public void Added_and_erased_key_slots_keep_working_under_qemu()
    {
        using var dir = new TempDirectory();
        var path = dir.File("amend.qcow2");
        ExternalTool.QemuImg("create", "-q", "--object", "secret,id=s0,data=first", "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10", path, "1M");
        ExternalTool.QemuIo("--object", "secret,id=s0,data=first", "--image-opts", Opts(path, "s0"), "-c", "write -P 0x5c 0 64k");

        Diskimg.Ok("amend", "--object", "secret,id=s0,data=first", "--object", "secret,id=s1,data=second",
            "-o", "encrypt.state=active,encrypt.new-secret=s1,encrypt.keyslot=3,encrypt.iter-time=10", "--image-opts", Opts(path, "s0"));
        Diskimg.Ok("amend", "--object", "secret,id=s1,data=second", "--object", "secret,id=s0,data=first",
            "-o", "encrypt.state=inactive,encrypt.old-secret=s0", "--image-opts", Opts(path, "s1"));

        var withNew = QemuRead(path, "s1", "second");
        Assert.True(withNew.ExitCode == 0 && !withNew.StdOut.Contains("verification failed", StringComparison.Ordinal), withNew.StdOut + withNew.StdErr);
        Assert.Contains("Invalid password, cannot unlock any keyslot", QemuRead(path, "s0", "first").StdErr, StringComparison.Ordinal);
        var info = ExternalTool.QemuImg("info", "--output=json", path);
        Assert.Equal(1, info.Split("\"active\": true").Length - 1);
        var check = ExternalTool.Run("qemu-img", "check", "--object", "secret,id=s1,data=second", "--image-opts", Opts(path, "s1"));
        Assert.True(check.ExitCode == 0, check.StdOut + check.StdErr);
    }

    [Fact]
    public void Refusals_are_one_line_errors_and_leave_the_image_alone()
    {
        using var dir = new TempDirectory();
        var path = dir.File("refuse.qcow2");
        ExternalTool.QemuImg("create", "-q", "--object", "secret,id=s0,data=first", "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10", path, "1M");
        var before = File.ReadAllBytes(path);

        var last = Diskimg.Run("amend", "--object", "secret,id=s0,data=first", "-o", "encrypt.state=inactive,encrypt.keyslot=0", "--image-opts", Opts(path, "s0"));
        var wrong = Diskimg.Run("amend", "--object", "secret,id=s0,data=nope", "--object", "secret,id=s1,data=x",
            "-o", "encrypt.state=active,encrypt.new-secret=s1", "--image-opts", Opts(path, "s0"));
        var missing = Diskimg.Run("amend", "--object", "secret,id=s0,data=first", "-o", "encrypt.state=active,encrypt.new-secret=s9", "--image-opts", Opts(path, "s0"));

        Assert.Equal(1, last.ExitCode);
        Assert.Contains("only active keyslot", last.StdErr, StringComparison.Ordinal);
        // As qemu-img, the image is named by its --image-opts string.
        Assert.Equal($"diskimg: Could not open '{Opts(path, "s0")}': Invalid password, cannot unlock any keyslot", wrong.StdErr.Trim());
        Assert.Equal("diskimg: No secret with id 's9'", missing.StdErr.Trim());
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void An_active_slot_is_replaced_only_with_force_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        string[] secrets = ["--object", "secret,id=s0,data=first", "--object", "secret,id=s1,data=second", "--object", "secret,id=bad,data=wrong"];
        string[] replace = ["-o", "encrypt.state=active,encrypt.new-secret=s1,encrypt.keyslot=0,encrypt.iter-time=10"];
        foreach (var (opener, force) in new[] { ("bad", false), ("s0", false), ("s0", true) })
        {
            var theirs = dir.File($"theirs-{opener}-{force}.qcow2");
            var ours = dir.File($"ours-{opener}-{force}.qcow2");
            foreach (var path in new[] { theirs, ours })
            {
                ExternalTool.QemuImg("create", "-q", "--object", "secret,id=s0,data=first", "-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10", path, "1M");
                ExternalTool.QemuIo("--object", "secret,id=s0,data=first", "--image-opts", Opts(path, "s0"), "-c", "write -P 0x5c 0 64k");
            }

            string[] forceArg = force ? ["--force"] : [];
            var qemu = ExternalTool.Run("qemu-img", ["amend", .. secrets, .. forceArg, .. replace, "--image-opts", Opts(theirs, opener)]);
            var diskimg = Diskimg.Run(["amend", .. secrets, .. forceArg, .. replace, "--image-opts", Opts(ours, opener)]);

            // A wrong secret fails the open; without --force the active slot is refused; with it, it is replaced.
            Assert.Equal(qemu.ExitCode, diskimg.ExitCode);
            Assert.Equal(QemuToolOutput.Normalise(qemu.StdErr, theirs), QemuToolOutput.Normalise(diskimg.StdErr, ours));
            foreach (var (id, value) in new[] { ("s0", "first"), ("s1", "second") })
            {
                Assert.Equal(QemuRead(theirs, id, value).ExitCode, QemuRead(ours, id, value).ExitCode);
            }
        }
    }
}
