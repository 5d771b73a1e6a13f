using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nfs;

/// <summary>
/// What reaches an nfs node besides its URL, against the shared nfs-ganesha server: the verbs' cache modes (<c>-t</c>,
/// <c>-T</c>, qemu-io's <c>-t</c>/<c>-n</c>), which QEMU hands to the nodes as <c>cache.direct</c>; nfs:// names as
/// backing files of local images; and nfs:// names given as a host file's <c>filename</c> in node options. Each
/// command line runs with qemu-img/qemu-io 7.2 and with diskimg; stdout, stderr and the exit code must be equal.
/// </summary>
[Collection(NfsCollection.Name)]
public class NfsNodeOptionInteropTests(NfsServer server)
{
    private static void AssertSame(ExternalTool.Result theirs, ExternalTool.Result ours, string what)
    {
        Assert.True(theirs.ExitCode == ours.ExitCode, $"{what}: qemu exit {theirs.ExitCode} ({theirs.StdErr}), diskimg {ours.ExitCode} ({ours.StdErr})");
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
    }

    private static void Same(params string[] arguments) =>
        AssertSame(ExternalTool.Run("qemu-img", arguments), Diskimg.Run(arguments), string.Join(' ', arguments));

    private static void SameIo(params string[] arguments) =>
        AssertSame(ExternalTool.Run("qemu-io", arguments), Diskimg.Run(["io", .. arguments]), "io " + string.Join(' ', arguments));

    private string Local(string name) => Path.Combine(server.Directory, name);

    private string Image(string suffix, string format, string size, string? backing = null)
    {
        var name = NfsServer.Fresh(suffix);
        ExternalTool.QemuImg(backing is null
            ? ["create", "-q", "-f", format, Local(name), size]
            : ["create", "-q", "-f", format, "-b", backing, "-F", "raw", Local(name), size]);
        return name;
    }

    [Fact]
    public void Cache_mode_none_reaches_the_nodes_qemu_img_gives_it_to()
    {
        var raw = Image(".raw", "raw", "1M");
        var qcow2 = Image(".qcow2", "qcow2", "1M");
        var overlay = Image(".qcow2", "qcow2", "1M", Local(raw));
        string Ahead(string name) => server.Url(name) + "?readahead=4096";
        string Paged(string name) => server.Url(name) + "?pagecache=8";
        using var dir = new TempDirectory();
        var local = dir.File("l.raw");
        File.WriteAllBytes(local, new byte[1 << 20]);

        // Each is refused before anything is written; a mode other than none/directsync opens the same names.
        Same("convert", "-T", "none", Ahead(raw), dir.File("out.raw"));
        Same("convert", "-T", "directsync", "-O", "qcow2", Paged(qcow2), dir.File("out.qcow2"));
        Same("convert", "-n", "-t", "none", local, Ahead(qcow2));
        Same("convert", "-n", "-T", "none", "-t", "writeback", local, Ahead(raw));
        Same("check", "-T", "none", Paged(qcow2));
        Same("check", "-T", "off", Ahead(qcow2));
        Same("check", "-T", "writeback", Ahead(qcow2));
        Same("compare", "-T", "none", local, Ahead(raw));
        Same("compare", "-T", "writethrough", local, Ahead(raw));
        Same("commit", "-t", "none", Ahead(overlay));
        Same("rebase", "-t", "none", "-u", "-b", Local(raw), "-F", "raw", Ahead(overlay));
        Same("rebase", "-t", "none", "-u", "-b", "src.raw", Ahead(overlay));
        Same("rebase", "-u", "-b", "src.raw", server.Url(overlay));
        Same("rebase", "-T", "none", "-b", Ahead(raw), "-F", "raw", server.Url(overlay));
        Same("bench", "-t", "none", "-c", "1", Ahead(qcow2));
        Same("bench", "-t", "directsync", "-c", "1", Paged(raw));
        Same("amend", "-t", "none", "-o", "lazy_refcounts=on", Ahead(qcow2));
        Same("info", server.Url(overlay));
    }

    [Fact]
    public void Qemu_io_cache_none_and_nocache_reach_the_node()
    {
        var qcow2 = Image(".qcow2", "qcow2", "1M");
        foreach (var query in new[] { "?readahead=4096", "?pagecache=8" })
        {
            var name = server.Url(qcow2) + query;
            SameIo("-t", "none", "-c", "read 0 512", name);
            SameIo("-n", "-c", "read 0 512", name);
            SameIo("-t", "directsync", "-c", "read 0 512", name);
            SameIo("-t", "writeback", "-c", "read 0 512", name);
        }
    }

    [Fact]
    public void A_local_overlay_keeps_an_nfs_backing_name_as_it_is()
    {
        var baseName = Image(".qcow2", "qcow2", "4M");
        ExternalTool.QemuIo("-c", "write -P 0x5c 0 64k", Local(baseName));
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        var theirResult = ExternalTool.Run("qemu-img", "create", "-f", "qcow2", "-b", server.Url(baseName), "-F", "qcow2", theirs);
        var ourResult = Diskimg.Run("create", "-f", "qcow2", "-b", server.Url(baseName), "-F", "qcow2", ours);
        AssertSame(theirResult, ourResult with { StdOut = ourResult.StdOut.Replace(ours, theirs, StringComparison.Ordinal) }, "create -b nfs://");
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        Same("info", "--backing-chain", ours);
        SameIo("-c", "read -P 0x5c 0 64k", ours);
    }

    [Fact]
    public void A_file_name_in_node_options_is_a_host_path_even_as_a_url()
    {
        var qcow2 = Image(".qcow2", "qcow2", "1M");
        var url = server.Url(qcow2);
        foreach (var name in new[]
        {
            $"json:{{\"driver\":\"qcow2\",\"file\":{{\"filename\":\"{url}\"}}}}",
            $"json:{{\"driver\":\"qcow2\",\"file.filename\":\"{url}\"}}",
            $"json:{{\"driver\":\"qcow2\",\"file\":{{\"driver\":\"file\",\"filename\":\"{url}\"}}}}",
            $"json:{{\"driver\":\"file\",\"filename\":\"{url}\"}}",
            $"json:{{\"driver\":\"qcow2\",\"file\":{{\"driver\":\"blkdebug\",\"image.filename\":\"{url}\"}}}}",
            $"json:{{\"driver\":\"qcow2\",\"file\":{{\"filename\":\"nbd://127.0.0.1/x\"}}}}",
        })
        {
            Same("info", name);
        }

        SameIo("--image-opts", "-c", "read 0 512", $"driver=qcow2,file.filename={url}");

        // A json: name over several lines, as iotest 066 writes one: qemu-io names it once, as given.
        SameIo("-c", "read 0 512", $"json:{{\n  \"driver\": \"qcow2\",\n  \"file\": {{\"driver\": \"blkdebug\", \"image.filename\": \"{url}\"}}\n}}");
        Same("info", url);
    }

    [Fact]
    public void Option_help_for_an_nfs_target_adds_only_the_nfs_protocols_options()
    {
        var source = Image(".qcow2", "qcow2", "1M");
        Same("create", "-f", "qcow2", "-o", "help", server.Url(NfsServer.Fresh(".qcow2")));
        Same("create", "-f", "raw", "-o", "?", server.Url(NfsServer.Fresh(".raw")));
        Same("convert", "-O", "qcow2", "-o", "help", Local(source), server.Url(NfsServer.Fresh(".qcow2")));
    }
}
