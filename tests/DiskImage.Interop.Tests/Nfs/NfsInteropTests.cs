using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nfs;

/// <summary>
/// Images over <c>nfs://</c> against one nfs-ganesha server (<see cref="NfsServer"/>): each command runs with qemu-img
/// (or qemu-io) 7.2 and its libnfs driver, then with diskimg, on identical command lines; stdout, stderr (program name
/// normalised), the exit code and, where a file is written, its bytes must be equal. Each side writes files of its
/// own, under names no other test used.
/// </summary>
[Collection(NfsCollection.Name)]
public class NfsInteropTests(NfsServer server)
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

    /// <summary>A new image in the export, made locally by qemu-img (and qemu-io for the pattern).</summary>
    private string Image(string suffix, string format, string size, string? pattern = null)
    {
        var name = NfsServer.Fresh(suffix);
        ExternalTool.QemuImg("create", "-q", "-f", format, Local(name), size);
        if (pattern is not null)
        {
            ExternalTool.QemuIo("-f", format, "-c", pattern, Local(name));
        }

        return name;
    }

    /// <summary>Two byte-identical copies of <paramref name="name"/> in the export, one for each tool.</summary>
    private (string Theirs, string Ours) Twins(string name)
    {
        var theirs = NfsServer.Fresh("-q" + Path.GetExtension(name));
        var ours = NfsServer.Fresh("-d" + Path.GetExtension(name));
        File.Copy(Local(name), Local(theirs));
        File.Copy(Local(name), Local(ours));
        return (theirs, ours);
    }

    [Fact]
    public void Info_map_check_compare_and_measure_print_what_qemu_img_prints_in_every_form()
    {
        var qcow2 = Image(".qcow2", "qcow2", "3M", "write -P 0x5a 64k 128k");
        var raw = Image(".raw", "raw", "1000k", null);
        var path = $"\"path\":\"{Local(qcow2)}\"";
        var host = "\"server\":{\"type\":\"inet\",\"host\":\"127.0.0.1\"}";
        var forms = new List<string[]>
        {
            new[] { server.Url(qcow2) },
            new[] { server.Url(qcow2) + "?uid=0&gid=0" },
            new[] { server.Url(qcow2) + "?uid=5&gid=0x7" },
            new[] { $"nfs://127.0.0.1:5{Local(qcow2)}" },
            new[] { "-f", "raw", server.Url(qcow2) },
            new[] { "-f", "nfs", server.Url(raw) },
            new[] { server.Url(raw) },
            new[] { $"json:{{\"driver\":\"nfs\",{host},{path}}}" },
            new[] { $"json:{{\"driver\":\"qcow2\",\"file\":{{\"driver\":\"nfs\",{host},{path}}}}}" },
            new[] { $"json:{{\"driver\":\"nfs\",{host},{path},\"user\":5,\"group\":7,\"readahead-size\":4096,\"page-cache-size\":16,\"tcp-syn-count\":3}}" },
            new[] { "--image-opts", $"driver=qcow2,file.driver=nfs,file.server.type=inet,file.server.host=127.0.0.1,file.path={Local(qcow2)}" },
        };
        foreach (var form in forms)
        {
            foreach (var output in new[] { "--output=human", "--output=json" })
            {
                Same(["info", output, .. form]);
            }
        }

        Same("map", "--output=json", "-f", "raw", server.Url(qcow2));
        Same("map", server.Url(qcow2));
        Same("check", server.Url(qcow2));
        Same("compare", server.Url(qcow2), Local(qcow2));
        Same("measure", "-O", "qcow2", server.Url(qcow2));
        SameIo("-c", "read -P 0x5a 64k 128k", "-c", "read -P 0 0 64k", server.Url(qcow2));
    }

    [Fact]
    public void Names_and_options_are_refused_in_qemus_words()
    {
        var qcow2 = Image(".qcow2", "qcow2", "1M");
        var url = server.Url(qcow2);
        var host = "\"server\":{\"type\":\"inet\",\"host\":\"127.0.0.1\"}";
        foreach (var name in new[]
        {
            "nfs:///export/a.qcow2", "nfs://127.0.0.1", url + "?uid", url + "?uid=x", url + "?uid=-1", url + "?bogus=1",
            url + "?readahead=99999999", url + "?pagecache=100000", url + "?debug=0", url + "?tcp-syncnt=2&readahead=4096&pagecache=8",
            "nfs://nonexistent.invalid/export/a.qcow2", "nfs://[::1]/export/a.qcow2",
            server.Url(NfsServer.Fresh(".missing")), $"nfs://127.0.0.1{server.Directory}-not-exported/a.qcow2", $"nfs://127.0.0.1{server.Directory}",
            $"json:{{\"driver\":\"nfs\",\"path\":\"{Local(qcow2)}\"}}",
            $"json:{{\"driver\":\"nfs\",\"server\":{{\"host\":\"127.0.0.1\"}},\"path\":\"{Local(qcow2)}\"}}",
            $"json:{{\"driver\":\"nfs\",\"server\":{{\"type\":\"unix\",\"host\":\"127.0.0.1\"}},\"path\":\"{Local(qcow2)}\"}}",
            $"json:{{\"driver\":\"nfs\",\"server\":{{\"type\":\"inet\",\"host\":\"127.0.0.1\",\"port\":\"5\"}},\"path\":\"{Local(qcow2)}\"}}",
            $"json:{{\"driver\":\"nfs\",{host}}}",
            $"json:{{\"driver\":\"nfs\",{host},\"path\":\"a.qcow2\"}}",
            $"json:{{\"driver\":\"nfs\",{host},\"path\":\"{Local(qcow2)}\",\"group\":\"x\"}}",
            $"json:{{\"driver\":\"nfs\",\"filename\":\"{url}\"}}",
        })
        {
            Same("info", name);
        }

        Same("info", "-f", "nfs", Local(qcow2));
        Same("info", "--image-opts", $"driver=raw,file.driver=nfs,file.server.type=inet,file.server.host=127.0.0.1,file.path={Local(qcow2)},file.readahead-size=4096,cache.direct=on");
        Same("info", "--image-opts", $"driver=nfs,server.type=inet,server.host=127.0.0.1,path={Local(qcow2)},page-cache-size=16,cache.direct=on");
        Same("info", $"json:{{\"driver\":\"nfs\",{host},\"path\":\"{Local(qcow2)}\",\"cache\":{{\"direct\":true}}}}");
        Same("create", "-f", "raw", "-o", "preallocation=full", server.Url(NfsServer.Fresh(".raw")), "1M");
        SameIo("-c", "read 0 512", url + "?uid=0");
    }

    [Fact]
    public void A_directory_and_a_read_only_file_fail_as_in_qemu()
    {
        var sub = NfsServer.Fresh("");
        System.IO.Directory.CreateDirectory(Local(sub));
        Same("info", server.Url(sub));
        Same("info", server.Url(sub) + "/");
        SameIo("-c", "read 0 512", server.Url(sub));
    }

    [Fact]
    public void Symbolic_links_are_followed_as_libnfs_follows_them()
    {
        var qcow2 = Image(".qcow2", "qcow2", "1M");
        var sub = NfsServer.Fresh("");
        System.IO.Directory.CreateDirectory(Local(sub));
        var links = new Dictionary<string, string>
        {
            [NfsServer.Fresh(".lnk")] = qcow2,
            [NfsServer.Fresh(".lnk")] = Local(qcow2),
            [NfsServer.Fresh(".lnk")] = "/etc/passwd",
            [NfsServer.Fresh(".lnk")] = NfsServer.Fresh(".missing"),
            [NfsServer.Fresh(".lnk")] = "../../../x",
            [sub + "/" + NfsServer.Fresh(".lnk")] = "../" + qcow2,
        };
        foreach (var (link, target) in links)
        {
            File.CreateSymbolicLink(Local(link), target);
            Same("info", server.Url(link));
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Permission_refusals_under_another_uid_are_qemus()
    {
        var hidden = Image(".raw", "raw", "64k");
        var readable = Image(".raw", "raw", "64k");
        File.SetUnixFileMode(Local(hidden), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.SetUnixFileMode(Local(readable), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        const string other = "?uid=4321&gid=4321";
        Same("info", server.Url(hidden) + other);
        Same("info", server.Url(readable) + other);
        SameIo("-c", "write 0 512", server.Url(readable) + other);
        Same("create", "-f", "raw", server.Url(NfsServer.Fresh(".raw")) + other, "1M");
    }

    [Theory]
    [InlineData("qcow2", "1G")]
    [InlineData("raw", "10000")]
    [InlineData("nfs", "1M")]
    [InlineData("qed", "10M")]
    public void Create_makes_the_file_qemu_img_makes(string format, string size)
    {
        var theirs = NfsServer.Fresh("." + format);
        var ours = NfsServer.Fresh("." + format);
        var theirResult = ExternalTool.Run("qemu-img", "create", "-f", format, server.Url(theirs), size);
        var ourResult = Diskimg.Run("create", "-f", format, server.Url(ours), size);
        AssertSame(theirResult, ourResult with { StdOut = ourResult.StdOut.Replace(ours, theirs, StringComparison.Ordinal) }, "create " + format);
        Assert.Equal(File.ReadAllBytes(Local(theirs)), File.ReadAllBytes(Local(ours)));
    }

    [Fact]
    public void Convert_to_and_from_an_export_writes_qemu_img_bytes()
    {
        var source = Image(".raw", "raw", "8M", "write -P 0x33 1M 2M");
        var theirs = NfsServer.Fresh(".qcow2");
        var ours = NfsServer.Fresh(".qcow2");
        AssertSame(ExternalTool.Run("qemu-img", "convert", "-O", "qcow2", Local(source), server.Url(theirs)),
            Diskimg.Run("convert", "-O", "qcow2", Local(source), server.Url(ours)), "convert to nfs");
        Assert.Equal(File.ReadAllBytes(Local(theirs)), File.ReadAllBytes(Local(ours)));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", server.Url(ours)).ExitCode);

        using var dir = new TempDirectory();
        AssertSame(ExternalTool.Run("qemu-img", "convert", "-O", "qcow2", server.Url(theirs), dir.File("q.qcow2")),
            Diskimg.Run("convert", "-O", "qcow2", server.Url(ours), dir.File("d.qcow2")), "convert from nfs");
        Assert.Equal(File.ReadAllBytes(dir.File("q.qcow2")), File.ReadAllBytes(dir.File("d.qcow2")));
        Same("compare", server.Url(ours), Local(source));

        var ddTheirs = NfsServer.Fresh(".raw");
        var ddOurs = NfsServer.Fresh(".raw");
        AssertSame(ExternalTool.Run("qemu-img", "dd", "-O", "raw", "bs=1M", "count=3", "if=" + Local(source), "of=" + server.Url(ddTheirs)),
            Diskimg.Run("dd", "-O", "raw", "bs=1M", "count=3", "if=" + Local(source), "of=" + server.Url(ddOurs)), "dd to nfs");
        Assert.Equal(File.ReadAllBytes(Local(ddTheirs)), File.ReadAllBytes(Local(ddOurs)));
    }

    [Fact]
    public void Writes_and_growing_resizes_leave_the_bytes_qemu_leaves()
    {
        var (theirs, ours) = Twins(Image(".qcow2", "qcow2", "16M", "write -P 0x11 0 1M"));
        var writes = new[] { "-c", "write -P 0x77 100k 300k", "-c", "write -z 2M 64k", "-c", "flush", "-c", "read -P 0x77 100k 300k" };
        AssertSame(ExternalTool.Run("qemu-io", [.. writes, server.Url(theirs)]), Diskimg.Run(["io", .. writes, server.Url(ours)]), "io writes");
        Assert.Equal(File.ReadAllBytes(Local(theirs)), File.ReadAllBytes(Local(ours)));
        Same("check", server.Url(ours));

        var (rawTheirs, rawOurs) = Twins(Image(".raw", "raw", "10000"));
        var rawWrites = new[] { "-f", "raw", "-c", "write -P 0x42 9000 3000", "-c", "read -P 0x42 9000 1000" };
        AssertSame(ExternalTool.Run("qemu-io", [.. rawWrites, server.Url(rawTheirs)]), Diskimg.Run(["io", .. rawWrites, server.Url(rawOurs)]), "raw writes");
        Assert.Equal(File.ReadAllBytes(Local(rawTheirs)), File.ReadAllBytes(Local(rawOurs)));

        AssertSame(ExternalTool.Run("qemu-img", "resize", "-f", "raw", server.Url(rawTheirs), "20000"),
            Diskimg.Run("resize", "-f", "raw", server.Url(rawOurs), "20000"), "raw resize");
        Assert.Equal(File.ReadAllBytes(Local(rawTheirs)), File.ReadAllBytes(Local(rawOurs)));
        Same("info", server.Url(rawOurs));

        AssertSame(ExternalTool.Run("qemu-img", "resize", "--shrink", "-f", "raw", server.Url(rawTheirs), "4096"),
            Diskimg.Run("resize", "--shrink", "-f", "raw", server.Url(rawOurs), "4096"), "raw shrink");
        Assert.Equal(File.ReadAllBytes(Local(rawTheirs)), File.ReadAllBytes(Local(rawOurs)));

        AssertSame(ExternalTool.Run("qemu-img", "resize", server.Url(theirs), "+1G"), Diskimg.Run("resize", server.Url(ours), "+1G"), "qcow2 grow");
        Same("info", server.Url(ours));
        Same("check", server.Url(ours));
    }

    [Fact]
    public void Relative_backing_names_resolve_as_qemu_resolves_them()
    {
        var baseName = Image(".qcow2", "qcow2", "4M", "write -P 0x22 0 1M");
        var overlay = NfsServer.Fresh(".qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", baseName, "-F", "qcow2", Local(overlay));
        Same("info", "--backing-chain", server.Url(overlay));
        Same("info", server.Url(overlay) + "?uid=5");
        SameIo("-c", "read -P 0x22 0 1M", server.Url(overlay));

        var theirs = NfsServer.Fresh(".qcow2");
        var ours = NfsServer.Fresh(".qcow2");
        var theirResult = ExternalTool.Run("qemu-img", "create", "-f", "qcow2", "-b", baseName, "-F", "qcow2", server.Url(theirs));
        var ourResult = Diskimg.Run("create", "-f", "qcow2", "-b", baseName, "-F", "qcow2", server.Url(ours));
        AssertSame(theirResult, ourResult with { StdOut = ourResult.StdOut.Replace(ours, theirs, StringComparison.Ordinal) }, "create -b");
        Assert.Equal(File.ReadAllBytes(Local(theirs)), File.ReadAllBytes(Local(ours)));
    }
}
