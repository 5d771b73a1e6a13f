using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Curl;

/// <summary>
/// The http and https drivers against qemu-img and qemu-io 7.2 (its curl module) on the same server: info, map,
/// check, measure, compare, convert, dd and reads of raw and qcow2 images and of an overlay whose backing file is a
/// URL; the json: and --image-opts forms with their options; and the error lines for a missing file, a server
/// without ranges, refused connections, unknown hosts, certificates and writes. stdout, stderr (program name and
/// libcurl's connect time normalised) and exit code must be equal.
/// </summary>
public class CurlInteropTests(CurlImages images) : IClassFixture<CurlImages>
{
    public static TheoryData<string[]> ReadOnlyVerbs() => new()
    {
        new[] { "info", "H/disk.qcow2" },
        new[] { "info", "--output=json", "H/disk.qcow2" },
        new[] { "info", "H/disk.raw" },
        new[] { "info", "-f", "http", "H/disk.qcow2" },
        new[] { "info", "--backing-chain", "H/overlay.qcow2" },
        new[] { "info", "--output=json", "--backing-chain", "H/overlay.qcow2" },
        new[] { "info", "S/disk.qcow2" },
        new[] { "info", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"https\",\"url\":\"S/disk.qcow2\",\"sslverify\":false}}" },
        new[] { "info", "--image-opts", "driver=qcow2,file.driver=https,file.url=S/disk.qcow2,file.sslverify=off,file.readahead=64k,file.timeout=3" },
        new[] { "info", "json:{\"driver\":\"https\",\"url\":\"S/disk.raw\",\"sslverify\":false}" },
        new[] { "info", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"http\",\"url\":\"H/disk.qcow2\",\"readahead\":\"1000\"}}" },
        new[] { "info", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"http\",\"url\":\"H/disk.qcow2\",\"timeout\":20000}}" },
        new[] { "info", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"http\",\"url\":\"S/disk.qcow2\"}}" },
        new[] { "info", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"http\",\"url\":\"H/disk.qcow2\",\"cookie\":\"a=b\",\"cookie-secret\":\"c\"}}" },
        new[] { "info", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"http\",\"url\":\"H/disk.qcow2\",\"bogus\":1}}" },
        new[] { "info", "--object", "secret,id=pw,data=x", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"http\",\"url\":\"H/disk.qcow2\",\"username\":\"u\",\"password-secret\":\"pw\"}}" },
        new[] { "info", "H/missing.qcow2" },
        new[] { "info", "H/disk.qcow2?query=1" },
        new[] { "info", "--backing-chain", "H/relative.qcow2" },
        new[] { "io", "-r", "-c", "read -P 0x5a 0 64k", "-c", "read -P 0x6b 3M 64k", "H/relative.qcow2" },
        new[] { "map", "H/disk.qcow2" },
        new[] { "map", "--output=json", "H/overlay.qcow2" },
        new[] { "map", "--output=json", "H/disk.raw" },
        new[] { "check", "H/disk.qcow2" },
        new[] { "measure", "-O", "qcow2", "H/disk.qcow2" },
        new[] { "compare", "H/disk.qcow2", "H/overlay.qcow2" },
        new[] { "compare", "H/disk.qcow2", "LOCAL/disk.qcow2" },
        new[] { "io", "-r", "-c", "read -P 0x5a 0 64k", "-c", "read -P 0x6b 3M 64k", "-c", "read -P 0 5M 64k", "-c", "read -v 192k 32", "H/disk.qcow2" },
        new[] { "io", "-r", "-c", "read -P 0x7c 64k 64k", "-c", "read -P 0x5a 128k 64k", "H/overlay.qcow2" },
        new[] { "io", "-r", "-f", "raw", "-c", "read -P 0x33 64k 600k", "-c", "read -P 0 1M 4k", "S/disk.raw" },
        // Writes are refused.
        new[] { "io", "-c", "write 0 4k", "H/disk.qcow2" },
        new[] { "io", "-f", "http", "-c", "read 0 4k", "H/disk.qcow2" },
        new[] { "resize", "H/disk.raw", "4M" },
        new[] { "commit", "H/disk.qcow2" },
        new[] { "check", "-r", "all", "H/disk.qcow2" },
        new[] { "amend", "-o", "lazy_refcounts=on", "H/disk.qcow2" },
        new[] { "snapshot", "-c", "s1", "H/disk.qcow2" },
        new[] { "bitmap", "--add", "H/disk.qcow2", "b0" },
        new[] { "convert", "-n", "-O", "raw", "LOCAL/disk.raw", "H/disk.raw" },
        new[] { "snapshot", "-l", "H/disk.qcow2" },
        new[] { "info", "-U", "H/disk.qcow2" },
        new[] { "compare", "-f", "qcow2", "-F", "raw", "H/disk.qcow2", "S/disk.raw" },
        new[] { "create", "-f", "qcow2", "H/new.qcow2", "1M" },
        new[] { "convert", "-O", "raw", "H/disk.raw", "H/new.raw" },
        new[] { "create", "-f", "http", "H/new.raw", "1M" },
    };

    [Theory]
    [MemberData(nameof(ReadOnlyVerbs))]
    public void A_verb_over_http_does_what_qemu_does(string[] template)
    {
        CurlComparison.AssertSame([.. template.Select(Expand)]);
    }

    [Fact]
    public void Error_lines_for_unreachable_servers_are_qemus()
    {
        CurlComparison.AssertSame("info", $"http://127.0.0.1:{Loopback.FreePort()}/disk.qcow2");
        CurlComparison.AssertSame("info", "http://no-such-host.invalid/disk.qcow2");
        CurlComparison.AssertSame("info", "https://no-such-host.invalid/disk.qcow2");
    }

    [Fact]
    public void A_server_without_ranges_is_refused_as_qemu_refuses_it()
    {
        using var server = new RangeHttpServer(images.Directory, behaviour: ServerBehaviour.NoRanges);
        CurlComparison.AssertSame("info", server.Url("disk.qcow2"));
        server.Behaviour = ServerBehaviour.NoLength;
        CurlComparison.AssertSame("info", server.Url("disk.qcow2"));
        server.Behaviour = ServerBehaviour.RedirectOnce;
        CurlComparison.AssertSame("info", server.Url("disk.qcow2"));
        CurlComparison.AssertSame("io", "-r", "-c", "read -P 0x6b 3M 64k", server.Url("disk.qcow2"));
        server.Behaviour = ServerBehaviour.HugeLength;
        CurlComparison.AssertSame("info", "-f", "raw", server.Url("disk.raw"));
    }

    [Theory]
    [InlineData("qcow2")]
    [InlineData("raw")]
    [InlineData("vmdk")]
    public void Convert_from_a_url_makes_the_image_qemu_makes(string format)
    {
        using var dir = new TempDirectory();
        foreach (var source in new[] { images.Http.Url("overlay.qcow2"), images.Https.Url("disk.raw") })
        {
            string[] input = source.StartsWith("https", StringComparison.Ordinal)
                ? ["--image-opts", $"driver=raw,file.driver=https,file.url={source},file.sslverify=off"]
                : [source];
            ExternalTool.QemuImg(["convert", "-O", format, .. input, dir.File("theirs")]);
            Diskimg.Ok(["convert", "-O", format, .. input, dir.File("ours")]);
            Assert.Contains("Images are identical", ExternalTool.QemuImg("compare", "-f", format, "-F", format, dir.File("theirs"), dir.File("ours")), StringComparison.Ordinal);
            File.Delete(dir.File("theirs"));
            File.Delete(dir.File("ours"));
        }

        Diskimg.Ok("dd", "-O", "raw", "bs=64k", "count=10", $"if={images.Http.Url("disk.raw")}", $"of={dir.File("dd.raw")}");
        ExternalTool.QemuImg("dd", "-O", "raw", "bs=64k", "count=10", $"if={images.Http.Url("disk.raw")}", $"of={dir.File("dd-theirs.raw")}");
        Assert.Equal(File.ReadAllBytes(dir.File("dd-theirs.raw")), File.ReadAllBytes(dir.File("dd.raw")));
    }

    [Fact]
    public void Sequential_small_reads_cost_one_request_per_readahead_window()
    {
        using var server = new RangeHttpServer(images.Directory);
        var commands = Enumerable.Range(0, 32).SelectMany(i => new[] { "-c", $"read {i * 4096} 4k" }).ToArray();
        Diskimg.Ok(["io", "-r", "-f", "raw", .. commands, server.Url("disk.raw")]);
        var gets = server.Requests.Count(r => r.StartsWith("GET", StringComparison.Ordinal));
        Assert.Equal(1, gets);
    }

    private string Expand(string argument) => argument
        .Replace("H/", images.Http.Url(""), StringComparison.Ordinal)
        .Replace("S/", images.Https.Url(""), StringComparison.Ordinal)
        .Replace("LOCAL/", images.Directory + "/", StringComparison.Ordinal);
}
