using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Ssh;

/// <summary>
/// Relative backing file names in images over SSH: QEMU resolves them beside the image on the server (an ssh:// name
/// built from the image node's name, which then opens with known_hosts checking), and a node named with a legacy
/// <c>host_key_check</c> query has no directory to resolve them in. A backing name that carries its own query
/// (<c>base.qcow2?host_key_check=no</c>) is how the chain opens here without a known_hosts entry.
/// </summary>
public partial class SshInteropTests
{
    /// <summary>A qcow2 over <paramref name="name"/> whose backing name is <paramref name="backing"/>, written at 1M.</summary>
    private void Overlay(string name, string backing)
    {
        ExternalTool.QemuImg("create", "-q", "-u", "-f", "qcow2", "-b", backing, "-F", "qcow2", Local(name), "4M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x22 1M 1M", $"json:{{\"driver\":\"qcow2\",\"file\":{{\"driver\":\"file\",\"filename\":\"{Local(name)}\"}},\"backing\":null}}");
    }

    /// <summary>A json: name of the qcow2 <paramref name="name"/> over SSH with the key not checked, given as a structure (no legacy query).</summary>
    private string Json(string name) =>
        $"json:{{\"driver\":\"qcow2\",\"file\":{{\"driver\":\"ssh\",\"server\":{{\"host\":\"127.0.0.1\",\"port\":\"{server.Port}\"}},\"path\":\"{Local(name)}\",\"host-key-check\":{{\"mode\":\"none\"}}}}}}";

    [Fact]
    public void Relative_backing_names_resolve_beside_the_image_on_the_server()
    {
        Image("rel-base.qcow2", "qcow2", "4M", "write -P 0x11 0 1M");
        // Separate files for the json: and ssh:// forms: diskimg, run in this process, keeps the nodes json: names
        // under the ssh:// name they travel as, which an ssh:// name given later would otherwise meet.
        foreach (var form in new[] { "json", "uri" })
        {
            Overlay($"rel-plain-{form}.qcow2", "rel-base.qcow2");
            Overlay($"rel-query-{form}.qcow2", "rel-base.qcow2?host_key_check=no");
        }

        foreach (var name in new[] { Json("rel-plain-json.qcow2"), Json("rel-query-json.qcow2"), server.Uri("rel-plain-uri.qcow2"), server.Uri("rel-query-uri.qcow2") })
        {
            Same("info", name);
            Same("info", "--backing-chain", name);
            Same("info", "--output=json", "--backing-chain", name);
            var theirs = ExternalTool.Run("qemu-io", "-c", "read -P 0x11 0 1M", "-c", "read -P 0x22 1M 1M", name);
            var ours = Diskimg.Run("io", "-c", "read -P 0x11 0 1M", "-c", "read -P 0x22 1M 1M", name);
            AssertSame(theirs, ours, "io " + name);
        }

        var local = Local("rel-out.raw");
        string[] convert = ["convert", "-O", "raw", Json("rel-query-json.qcow2"), local];
        var theirConvert = ExternalTool.Run("qemu-img", convert);
        var theirBytes = File.ReadAllBytes(local);
        File.Delete(local);
        AssertSame(theirConvert, Diskimg.Run(convert), "convert through the chain");
        Assert.Equal(theirBytes, File.ReadAllBytes(local));
        Assert.Equal(0x11, theirBytes[0]);
    }

    [Fact]
    public void Create_and_convert_resolve_a_relative_backing_name_beside_the_new_image()
    {
        Image("new-base.qcow2", "qcow2", "4M", "write -P 0x11 0 1M");
        Image("new-source.qcow2", "qcow2", "4M", "write -P 0x33 0 64k");
        string[][] lines =
        [
            ["create", "-f", "qcow2", "-b", "new-base.qcow2?host_key_check=no", "-F", "qcow2", server.Uri("new.qcow2")],
            ["create", "-f", "qcow2", "-b", "new-base.qcow2", "-F", "qcow2", server.Uri("new.qcow2")],
            ["create", "-f", "qcow2", "-u", "-b", "new-base.qcow2", "-F", "qcow2", server.Uri("new.qcow2"), "4M"],
            ["create", "-f", "qcow2", "-b", "new-base.qcow2?host_key_check=no", server.Uri("new.qcow2")],
            ["convert", "-O", "qcow2", "-B", "new-base.qcow2?host_key_check=no", "-F", "qcow2", Local("new-source.qcow2"), server.Uri("new.qcow2")],
        ];
        foreach (var line in lines)
        {
            var target = Local("new.qcow2");
            File.Delete(target);
            var theirs = ExternalTool.Run("qemu-img", line);
            var theirBytes = File.Exists(target) ? File.ReadAllBytes(target) : null;
            File.Delete(target);
            AssertSame(theirs, Diskimg.Run(line), string.Join(' ', line));

            // A convert that fails leaves no image behind (qemu-img leaves the one it created).
            var expected = line[0] == "convert" && theirs.ExitCode != 0 ? null : theirBytes;
            Assert.Equal(expected, File.Exists(target) ? File.ReadAllBytes(target) : null);
        }
    }

    [Fact]
    public void Commit_over_ssh_does_what_qemu_img_does()
    {
        // Into a base on the server: QEMU cannot reopen an ssh node for writing, and nothing is written.
        Commit("commit-top-json.qcow2", "commit-base.qcow2?host_key_check=no", Json("commit-top-json.qcow2"));

        // From an image on the server into a local base: the copy is made; emptying it cannot cut the file over SFTP,
        // which qemu-img reports and then goes on.
        Commit("commit-top.qcow2", Local("commit-base.qcow2"), server.Uri("commit-top.qcow2"));
        Commit("commit-top.qcow2", Local("commit-base.qcow2"), "-d", server.Uri("commit-top.qcow2"));
    }

    private void Commit(string top, string backing, params string[] arguments)
    {
        var results = new List<(ExternalTool.Result Result, byte[] Base, byte[] Top)>();
        foreach (var run in new Func<string[], ExternalTool.Result>[] { a => ExternalTool.Run("qemu-img", a), a => Diskimg.Run(a) })
        {
            Image("commit-base.qcow2", "qcow2", "4M", "write -P 0x11 0 1M");
            Overlay(top, backing);
            var result = run(["commit", .. arguments]);
            results.Add((result with { StdErr = NodeNumber().Replace(result.StdErr, "#block$1..") }, File.ReadAllBytes(Local("commit-base.qcow2")), File.ReadAllBytes(Local(top))));
        }

        AssertSame(results[0].Result, results[1].Result, "commit " + string.Join(' ', arguments));
        Assert.Equal(results[0].Base, results[1].Base);
        Assert.Equal(results[0].Top, results[1].Top);
    }

    /// <summary>QEMU's automatic node names end in two random digits.</summary>
    [GeneratedRegex("#block([0-9]+)[0-9]{2}")]
    private static partial Regex NodeNumber();
}
