using System.Security.Cryptography;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Ssh;

/// <summary>
/// Images over <c>ssh://</c> against a private sshd (<see cref="SshServer"/>): each command runs with qemu-img (or
/// qemu-io) 7.2 and its ssh driver, then with diskimg, on identical command lines and identical remote files; stdout,
/// stderr (program name normalised), the exit code and, where a file is written, its bytes must be equal.
/// </summary>
public partial class SshInteropTests(SshServer server) : IClassFixture<SshServer>
{
    private static void AssertSame(ExternalTool.Result theirs, ExternalTool.Result ours, string what)
    {
        Assert.True(theirs.ExitCode == ours.ExitCode, $"{what}: qemu exit {theirs.ExitCode} ({theirs.StdErr}), diskimg {ours.ExitCode} ({ours.StdErr})");
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
    }

    private static void Same(params string[] arguments) =>
        AssertSame(ExternalTool.Run("qemu-img", arguments), Diskimg.Run(arguments), string.Join(' ', arguments));

    private string Local(string name) => Path.Combine(server.Directory, name);

    private string Image(string name, string format, string size, string? pattern = null)
    {
        var path = Local(name);
        ExternalTool.QemuImg("create", "-q", "-f", format, path, size);
        if (pattern is not null)
        {
            ExternalTool.QemuIo("-f", format, "-c", pattern, path);
        }

        return path;
    }

    [Fact]
    public void Info_prints_what_qemu_img_prints_in_every_form()
    {
        Image("info.qcow2", "qcow2", "3M", "write -P 0x5a 64k 128k");
        Image("info.raw", "raw", "1000k");
        var host = $"\"server\":{{\"host\":\"127.0.0.1\",\"port\":\"{server.Port}\"}}";
        var path = $"\"path\":\"{Local("info.qcow2")}\"";
        var forms = new List<string[]>
        {
            new[] { server.Uri("info.qcow2") },
            new[] { $"ssh://{Environment.UserName}@127.0.0.1:{server.Port}{Local("info.qcow2")}?host_key_check=no" },
            new[] { "-f", "raw", server.Uri("info.qcow2") },
            new[] { "-f", "ssh", server.Uri("info.raw") },
            new[] { server.Uri("info.raw") },
            new[] { $"json:{{\"driver\":\"ssh\",{host},{path},\"host-key-check\":{{\"mode\":\"none\"}}}}" },
            new[] { $"json:{{\"driver\":\"qcow2\",\"file\":{{\"driver\":\"ssh\",{host},{path},\"host-key-check\":{{\"mode\":\"none\"}}}}}}" },
            new[] { $"json:{{\"file\":{{\"driver\":\"ssh\",{host},{path},\"host_key_check\":\"no\"}}}}" },
            new[] { "--image-opts", $"driver=qcow2,file.driver=ssh,file.host=127.0.0.1,file.port={server.Port},file.path={Local("info.qcow2")},file.host_key_check=no" },
        };
        foreach (var form in forms)
        {
            foreach (var output in new[] { "--output=human", "--output=json" })
            {
                Same(["info", output, .. form]);
            }
        }

        Same("map", "--output=json", "-f", "raw", server.Uri("info.qcow2"));
        Same("map", server.Uri("info.qcow2"));
        Same("check", server.Uri("info.qcow2"));
        Same("compare", server.Uri("info.qcow2"), Local("info.qcow2"));
        Same("measure", "-O", "qcow2", server.Uri("info.qcow2"));
    }

    [Theory]
    [InlineData("qcow2", "10M")]
    [InlineData("raw", "1000")]
    [InlineData("ssh", "1M")]
    public void Create_makes_the_file_qemu_img_makes(string format, string size)
    {
        var target = Local("created." + format);
        string[] arguments = ["create", "-f", format, server.Uri("created." + format), size];
        var theirs = ExternalTool.Run("qemu-img", arguments);
        var theirBytes = File.ReadAllBytes(target);
        var theirMode = ExternalTool.Run("stat", "-c", "%a", target).StdOut;
        File.Delete(target);
        var ours = Diskimg.Run(arguments);
        AssertSame(theirs, ours, string.Join(' ', arguments));
        Assert.Equal(theirBytes, File.ReadAllBytes(target));
        Assert.Equal(theirMode, ExternalTool.Run("stat", "-c", "%a", target).StdOut);
    }

    [Fact]
    public void Convert_to_and_from_ssh_writes_what_qemu_img_writes()
    {
        var source = Image("source.qcow2", "qcow2", "4M", "write -P 0x33 1M 192k");
        var target = Local("converted.qcow2");
        string[] toSsh = ["convert", "-O", "qcow2", source, server.Uri("converted.qcow2")];
        var theirs = ExternalTool.Run("qemu-img", toSsh);
        var theirBytes = File.ReadAllBytes(target);
        File.Delete(target);
        AssertSame(theirs, Diskimg.Run(toSsh), "convert to ssh");
        Assert.Equal(theirBytes, File.ReadAllBytes(target));

        var local = Local("back.raw");
        string[] fromSsh = ["convert", "-O", "raw", server.Uri("converted.qcow2"), local];
        theirs = ExternalTool.Run("qemu-img", fromSsh);
        theirBytes = File.ReadAllBytes(local);
        File.Delete(local);
        AssertSame(theirs, Diskimg.Run(fromSsh), "convert from ssh");
        Assert.Equal(theirBytes, File.ReadAllBytes(local));
    }

    [Fact]
    public void What_diskimg_writes_over_ssh_passes_qemu_img_check_over_ssh()
    {
        var source = Image("safe-source.qcow2", "qcow2", "8M", "write -P 0x71 0 1M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x72 5M 300k", source);
        var uri = server.Uri("safe.qcow2");
        Diskimg.Ok("convert", "-O", "qcow2", source, uri);
        var io = Diskimg.Run("io", "-c", "write -P 0x73 2M 64k", "-c", "flush", uri);
        Assert.Equal(0, io.ExitCode);
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x73 2M 64k", source);
        Assert.Contains("No errors were found on the image.", ExternalTool.QemuImg("check", uri), StringComparison.Ordinal);
        Assert.Equal("Images are identical.\n", ExternalTool.QemuImg("compare", uri, source));
        Assert.Contains("read 65536/65536 bytes", ExternalTool.QemuIo("-c", "read -P 0x73 2M 64k", uri), StringComparison.Ordinal);
    }

    [Fact]
    public void Io_and_resize_over_ssh_print_what_qemu_prints()
    {
        foreach (var run in new Func<string[], ExternalTool.Result>[] { a => ExternalTool.Run("qemu-io", a), a => Diskimg.Run(["io", .. a]) })
        {
            Image("io.qcow2", "qcow2", "4M");
            var result = run(["-c", "write -P 0x42 64k 64k", "-c", "flush", "-c", "read -P 0x42 64k 64k", "-c", "read -P 0 0 64k", server.Uri("io.qcow2")]);
            Assert.Equal(0, result.ExitCode);
            Assert.Equal("wrote 65536/65536 bytes at offset 65536\nX ops; TIME\nread 65536/65536 bytes at offset 65536\nX ops; TIME\nread 65536/65536 bytes at offset 0\nX ops; TIME\n",
                QemuToolOutput.Normalise(result.StdOut).Replace("64 KiB, ", "", StringComparison.Ordinal));
        }

        foreach (var step in new[] { new[] { "2M" }, ["1M"], ["--shrink", "1M"], ["--preallocation=full", "4M"], ["--preallocation=falloc", "4M"], ["2M"] })
        {
            var theirBytes = Resize("qemu-img", step, out var theirs);
            var ourBytes = Resize("diskimg", step, out var ours);
            AssertSame(theirs, ours, "resize " + string.Join(' ', step));
            Assert.Equal(theirBytes, ourBytes);
        }

        Image("grow.qcow2", "qcow2", "1M");
        Same("resize", server.Uri("grow.qcow2"), "3M");
        Same("info", server.Uri("grow.qcow2"));
    }

    private byte[] Resize(string tool, string[] step, out ExternalTool.Result result)
    {
        var path = Image("resize.raw", "raw", "1024");
        string[] arguments = ["resize", "-f", "raw", .. step[..^1], server.Uri("resize.raw"), step[^1]];
        result = tool == "qemu-img" ? ExternalTool.Run("qemu-img", arguments) : Diskimg.Run(arguments);
        return SHA256.HashData(File.ReadAllBytes(path));
    }

    [Fact]
    public void Host_key_refusals_are_qemus()
    {
        Image("keys.raw", "raw", "64k");
        foreach (var type in new[] { "md5", "sha1", "sha256" })
        {
            Same("info", server.Uri("keys.raw", $"{type}:00:11"));
        }

        // The right fingerprints, with and without colons and in upper case, open the image.
        var sha1 = Convert.ToHexString(SHA1.HashData(server.HostKeyBlob));
        var md5 = string.Join(':', Convert.ToHexStringLower(MD5.HashData(server.HostKeyBlob)).Chunk(2).Select(c => new string(c)));
        Same("info", server.Uri("keys.raw", "sha1:" + sha1));
        Same("info", server.Uri("keys.raw", "md5:" + md5));
        Same("info", server.Uri("keys.raw", "sha256:" + Convert.ToHexStringLower(SHA256.HashData(server.HostKeyBlob)) + "00"));

        // known_hosts, the default, cannot know a server with a key made a moment ago.
        Same("info", server.Uri("keys.raw", check: null));
        Same("info", server.Uri("keys.raw", "yes"));
    }

    [Fact]
    public void Failures_to_connect_authenticate_or_open_are_qemus()
    {
        Image("auth.raw", "raw", "64k");
        Same("info", server.Uri("missing.qcow2"));
        Same("info", server.Uri("no/such/dir/x.raw"));
        Same("info", $"ssh://127.0.0.1:{Loopback.FreePort()}{Local("auth.raw")}?host_key_check=no");
        server.WithAgent(Path.Combine(server.Directory, "no-agent.sock"), () => Same("info", server.Uri("auth.raw")));
        server.WithAgent(null, () => Same("info", server.Uri("auth.raw")));
    }
}
