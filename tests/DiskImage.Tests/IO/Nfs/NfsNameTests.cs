using DiskImage.IO.Nfs;

namespace DiskImage.Tests.IO.Nfs;

/// <summary>
/// nfs:// names and nfs node options read as QEMU 7.2's driver reads them (its checks in order, its words), the node
/// name it shows, the directory it gives relative backing names, and names that travel for option nodes.
/// </summary>
public sealed class NfsNameTests
{
    [Theory]
    [InlineData("nfs://h/export/a.qcow2", "h", "/export/a.qcow2", "/export", "/a.qcow2")]
    [InlineData("nfs://h:2049/a", "h", "/a", "", "/a")]
    [InlineData("nfs://h/e/d/", "h", "/e/d/", "/e/d", "/")]
    [InlineData("nfs://h/a%20b/c", "h", "/a b/c", "/a b", "/c")]
    public void A_url_gives_the_host_the_export_and_the_file(string url, string host, string path, string export, string file)
    {
        var target = NfsUrl.Parse(url);
        Assert.Equal((host, path, export, file), (target.Host, target.Path, target.Export, target.File));
    }

    [Theory]
    [InlineData("http://h/a", "URI scheme must be 'nfs'")]
    [InlineData("nfs:///a", "missing hostname in URI")]
    [InlineData("nfs://h/a?uid", "Value for NFS parameter expected: uid")]
    [InlineData("nfs://h/a?uid=x", "Illegal value for NFS parameter: uid")]
    [InlineData("nfs://h/a?gid=-1", "Illegal value for NFS parameter: gid")]
    [InlineData("nfs://h/a?uid=1&bogus=2", "Unknown NFS parameter name: bogus")]
    [InlineData("nfs://h/a?readahead=08", "Illegal value for NFS parameter: readahead")]
    public void A_name_qemu_refuses_is_refused_in_its_words(string url, string message) =>
        Assert.Equal(message, Assert.Throws<InvalidImageException>(() => NfsUrl.Parse(url)).Message);

    [Fact]
    public void Query_parameters_set_each_option_in_any_base()
    {
        var target = NfsUrl.Parse("nfs://h/e/a?uid=0x10&gid=010&tcp-syncnt=3&readahead=4096&pagecache=9&debug=1");
        Assert.Equal((16L, 8L, 3L, 4096L, 9L, 1L), (target.User, target.Group, target.TcpSynCount, target.ReadaheadSize, target.PageCacheSize, target.Debug));
        Assert.Equal("nfs://h/e/a?uid=16&gid=8", target.NodeName);
        Assert.False(target.HasBaseDirectory);
    }

    [Theory]
    [InlineData("nfs://h/e/a", "nfs://h/e/a")]
    [InlineData("nfs://h:7/e/a?readahead=1", "nfs://h/e/a")]
    [InlineData("nfs://h/e/a?uid=0&gid=5", "nfs://h/e/a?gid=5")]
    [InlineData("nfs://h/e/a?uid=5&gid=0", "nfs://h/e/a?uid=5")]
    public void The_node_name_is_qemus(string url, string name) => Assert.Equal(name, NfsUrl.Parse(url).NodeName);

    [Fact]
    public void A_relative_backing_name_goes_under_the_image_path_as_in_qemu_7_2()
    {
        Assert.Equal("nfs://h/e/over.qcow2/base.qcow2", NfsBackingName.Resolve("nfs://h/e/over.qcow2", "base.qcow2"));
        Assert.False(NfsBackingName.Applies("nfs://h/e/over.qcow2", "/abs/base.qcow2"));
        Assert.Equal(
            "Cannot generate a base directory for NFS node 'nfs://h/e/o?uid=3'",
            Assert.Throws<ImageAccessException>(() => NfsBackingName.Resolve("nfs://h/e/o?uid=3", "b")).Message);
    }

    [Fact]
    public void Option_nodes_are_checked_in_qemus_order_and_travel_under_a_name_that_reads_back()
    {
        var options = new Dictionary<string, string>
        {
            ["server.type"] = "inet", ["server.host"] = "h", ["path"] = "/e/a", ["user"] = "5", ["debug"] = "3",
        };
        var target = NfsNode.Parse(options);
        Assert.Equal(target, NfsNode.FromUrl(NfsNode.NameOf(target)));
        Assert.Equal("nfs://h/e/a?uid=5", target.NodeName);

        Assert.Equal("Parameter 'server' is missing", Refusal(new() { ["path"] = "/a" }));
        Assert.Equal("Parameter 'server.type' is missing", Refusal(new() { ["server.host"] = "h", ["path"] = "/a" }));
        Assert.Equal("Parameter 'type' does not accept value 'unix'", Refusal(new() { ["server.type"] = "unix", ["server.host"] = "h" }));
        Assert.Equal("Parameter 'server.port' is unexpected", Refusal(new() { ["server.type"] = "inet", ["server.host"] = "h", ["server.port"] = "1" }));
        Assert.Equal("Parameter 'path' is missing", Refusal(new() { ["server.type"] = "inet", ["server.host"] = "h" }));
        Assert.Equal("Parameter 'group' expects integer", Refusal(new() { ["server.type"] = "inet", ["server.host"] = "h", ["path"] = "/a", ["group"] = "x" }));
        Assert.Equal("Parameter 'bogus' is unexpected", Refusal(new() { ["server.type"] = "inet", ["server.host"] = "h", ["path"] = "/a", ["bogus"] = "1" }));
    }

    [Fact]
    public void Random_names_parse_or_fail_with_one_of_qemus_lines()
    {
        var random = new Random(3530);
        const string alphabet = "nfs:/?=&%0x1uidgh.-[]@ ";
        var allowed = new[] { "Invalid URI specified", "URI scheme must be 'nfs'", "missing hostname in URI", "missing file path in URI", "Value for NFS parameter expected", "Illegal value for NFS parameter", "Unknown NFS parameter name" };
        for (var i = 0; i < 2000; i++)
        {
            var name = "nfs://" + new string([.. Enumerable.Range(0, random.Next(0, 24)).Select(_ => alphabet[random.Next(alphabet.Length)])]);
            try
            {
                var target = NfsUrl.Parse(name);
                Assert.NotNull(target.Host);
            }
            catch (InvalidImageException e)
            {
                Assert.Contains(allowed, a => e.Message.StartsWith(a, StringComparison.Ordinal));
            }
        }
    }

    [Theory]
    [InlineData("/a/b/../c", "/a/c")]
    [InlineData("//a/./b/", "/a/b")]
    [InlineData("/a/..", "/")]
    [InlineData("/a/../../b", null)]
    [InlineData("/../a", null)]
    public void Link_paths_normalise_as_libnfs_normalises_them(string path, string? expected)
    {
        if (expected is null)
        {
            Assert.Equal("Symbolic link resolves to invalid path", Assert.Throws<NfsProtocolException>(() => NfsPathWalk.Normalize(path)).Message);
        }
        else
        {
            Assert.Equal(expected, NfsPathWalk.Normalize(path));
        }
    }

    private static string Refusal(Dictionary<string, string> options) =>
        Assert.Throws<InvalidOptionException>(() => NfsNode.Parse(options)).Message;
}
