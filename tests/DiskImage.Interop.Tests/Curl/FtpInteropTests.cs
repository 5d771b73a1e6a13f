using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Curl;

/// <summary>
/// The ftp and ftps drivers against qemu-img and qemu-io 7.2 (its curl module) on the same pyftpdlib servers: info,
/// map, check, measure, compare and reads of raw and qcow2 images, of an overlay whose backing file is an ftp:// URL
/// and of one that names it relatively; the json: and --image-opts forms; and the error lines for a missing file or
/// directory, a server without SIZE, refused logins, refused connections, unknown hosts, certificates, TLS against a
/// plain server, writes and creation. stdout, stderr (program name and libcurl's connect time normalised) and exit
/// code must be equal. Convert and dd outputs are compared with qemu-img's by qemu-img compare and bytes.
/// </summary>
public class FtpInteropTests(FtpImages images) : IClassFixture<FtpImages>
{
    public static TheoryData<string[]> CommandLines() => new()
    {
        new[] { "info", "F/disk.qcow2" },
        new[] { "info", "--output=json", "F/sub/disk.qcow2" },
        new[] { "info", "-f", "ftp", "F/disk.raw" },
        new[] { "info", "--output=json", "--backing-chain", "F/overlay.qcow2" },
        new[] { "info", "--backing-chain", "F/relative.qcow2" },
        new[] { "info", "--backing-chain", "LOCAL/overlay.qcow2" },
        new[] { "io", "-r", "-c", "read -P 0x7c 64k 64k", "-c", "read -P 0x6b 3M 64k", "LOCAL/overlay.qcow2" },
        new[] { "info", "S/disk.qcow2" },
        new[] { "info", "--image-opts", "driver=raw,file.driver=ftps,file.url=S/disk.raw,file.sslverify=off" },
        new[] { "info", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"ftp\",\"url\":\"F/disk.qcow2\"}}" },
        new[] { "info", "json:{\"driver\":\"ftps\",\"url\":\"S/disk.raw\",\"sslverify\":false,\"readahead\":\"64k\",\"timeout\":3}" },
        new[] { "info", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"ftp\",\"url\":\"S/disk.qcow2\"}}" },
        new[] { "info", "--object", "secret,id=pw,data=secret", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"ftp\",\"url\":\"F/disk.qcow2\",\"username\":\"user\",\"password-secret\":\"pw\"}}" },
        new[] { "info", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"ftp\",\"url\":\"ftp://nobody:secret@HOSTPORT/disk.qcow2\",\"username\":\"user\"}}" },
        new[] { "info", "--object", "secret,id=pw,data=secret", "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"ftp\",\"url\":\"ftp://user:wrong@HOSTPORT/disk.qcow2\",\"password-secret\":\"pw\"}}" },
        new[] { "map", "--output=json", "F/overlay.qcow2" },
        new[] { "map", "F/disk.qcow2" },
        new[] { "check", "F/disk.qcow2" },
        new[] { "measure", "-O", "qcow2", "F/disk.qcow2" },
        new[] { "compare", "F/disk.qcow2", "F/overlay.qcow2" },
        new[] { "compare", "F/disk.qcow2", "LOCAL/disk.qcow2" },
        new[] { "io", "-r", "-c", "read -P 0x5a 0 64k", "-c", "read -P 0x6b 3M 64k", "-c", "read -P 0 5M 64k", "-c", "read -v 192k 32", "F/disk.qcow2" },
        new[] { "io", "-r", "-c", "read -P 0x7c 64k 64k", "-c", "read -P 0x5a 128k 64k", "F/overlay.qcow2" },
        new[] { "io", "-r", "-f", "raw", "--image-opts", "-c", "read -P 0x33 64k 600k", "-c", "read -P 0 1M 4k", "driver=raw,file.driver=ftps,file.url=S/disk.raw,file.sslverify=off" },
        // Errors: a missing file or directory, a login refused, and everything that would write.
        new[] { "info", "F/missing.qcow2" },
        new[] { "info", "F/nosub/disk.qcow2" },
        new[] { "info", "F/sub" },
        new[] { "info", "F/" },
        new[] { "info", "ftp://user:wrong@HOSTPORT/disk.qcow2" },
        new[] { "info", "ftp://user:secret@HOSTPORT/disk.qcow2" },
        new[] { "info", "F/a%0Ab" },
        new[] { "io", "-c", "write 0 4k", "F/disk.qcow2" },
        new[] { "resize", "F/disk.raw", "4M" },
        new[] { "commit", "F/disk.qcow2" },
        new[] { "create", "-f", "qcow2", "F/new.qcow2", "1M" },
        new[] { "create", "-f", "ftp", "S/new.raw", "1M" },
        new[] { "convert", "-O", "raw", "F/disk.raw", "F/new.raw" },
    };

    [Theory]
    [MemberData(nameof(CommandLines))]
    public void A_command_over_ftp_does_what_qemu_does(string[] template)
    {
        CurlComparison.AssertSame([.. template.Select(Expand)]);
    }

    [Fact]
    public void Servers_that_cannot_be_used_are_refused_as_qemu_refuses_them()
    {
        CurlComparison.AssertSame("info", images.NoSize.Url("disk.qcow2"));
        CurlComparison.AssertSame("info", $"ftp://127.0.0.1:{Loopback.FreePort()}/disk.qcow2");
        CurlComparison.AssertSame("info", "ftps://no-such-host.invalid/disk.qcow2");
        // ftps:// is TLS from the first byte: a plain server fails the handshake.
        CurlComparison.AssertSame("info", images.Ftp.Url("disk.qcow2").Replace("ftp://", "ftps://", StringComparison.Ordinal));
    }

    [Fact]
    public void Convert_and_dd_from_a_url_make_what_qemu_makes()
    {
        using var dir = new TempDirectory();
        string[][] inputs =
        [
            [images.Ftp.Url("overlay.qcow2")],
            ["--image-opts", $"driver=raw,file.driver=ftps,file.url={images.Ftps.Url("disk.raw")},file.sslverify=off"],
        ];
        foreach (var input in inputs)
        {
            ExternalTool.QemuImg(["convert", "-O", "qcow2", .. input, dir.File("theirs")]);
            Diskimg.Ok(["convert", "-O", "qcow2", .. input, dir.File("ours")]);
            Assert.Contains("Images are identical", ExternalTool.QemuImg("compare", "-f", "qcow2", "-F", "qcow2", dir.File("theirs"), dir.File("ours")), StringComparison.Ordinal);
            File.Delete(dir.File("theirs"));
            File.Delete(dir.File("ours"));
        }

        Diskimg.Ok("dd", "-O", "raw", "bs=64k", "count=10", $"if={images.Ftp.Url("disk.raw")}", $"of={dir.File("dd.raw")}");
        ExternalTool.QemuImg("dd", "-O", "raw", "bs=64k", "count=10", $"if={images.Ftp.Url("disk.raw")}", $"of={dir.File("dd-theirs.raw")}");
        Assert.Equal(File.ReadAllBytes(dir.File("dd-theirs.raw")), File.ReadAllBytes(dir.File("dd.raw")));
    }

    private string Expand(string argument) => argument
        .Replace("F/", images.Ftp.Url(""), StringComparison.Ordinal)
        .Replace("S/", images.Ftps.Url(""), StringComparison.Ordinal)
        .Replace("HOSTPORT", new Uri(images.Ftp.Url("")).Authority, StringComparison.Ordinal)
        .Replace("LOCAL/", images.Directory + "/", StringComparison.Ordinal);
}
