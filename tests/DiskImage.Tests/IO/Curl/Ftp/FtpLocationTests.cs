using DiskImage.IO.Curl;
using DiskImage.IO.Curl.Ftp;

namespace DiskImage.Tests.IO.Curl.Ftp;

public class FtpLocationTests
{
    [Fact]
    public void A_plain_url_is_anonymous_on_port_21_in_the_login_directory()
    {
        var location = FtpLocation.Parse("ftp://example.org/disk.qcow2");
        Assert.Equal(("example.org", 21, false, null, null, "disk.qcow2"), (location.Host, location.Port, location.ImplicitTls, location.User, location.Password, location.FileName));
        Assert.Empty(location.Directories);
    }

    [Fact]
    public void Ftps_is_tls_from_the_start_on_port_990()
    {
        var location = FtpLocation.Parse("ftps://example.org/a/b/disk.raw?x=1#y");
        Assert.Equal(("example.org", 990, true, "disk.raw"), (location.Host, location.Port, location.ImplicitTls, location.FileName));
        Assert.Equal(["a", "b"], location.Directories);
    }

    [Fact]
    public void User_information_port_and_escapes_are_decoded()
    {
        var location = FtpLocation.Parse("ftp://us%40er:p%3Ass@127.0.0.1:2121/my%20dir//disk%2F1.img");
        Assert.Equal(("us@er", "p:ss", "127.0.0.1", 2121), (location.User, location.Password, location.Host, location.Port));
        Assert.Equal(["my dir"], location.Directories);
        Assert.Equal("disk/1.img", location.FileName);
    }

    [Fact]
    public void A_double_slash_starts_at_the_root_and_a_trailing_slash_names_no_file()
    {
        var location = FtpLocation.Parse("ftp://h//srv/images/");
        Assert.Equal(["/", "srv", "images"], location.Directories);
        Assert.Equal("", location.FileName);
    }

    [Fact]
    public void An_ipv6_host_loses_its_brackets()
    {
        var location = FtpLocation.Parse("ftp://[::1]:2121/x");
        Assert.Equal(("::1", 2121), (location.Host, location.Port));
    }

    [Theory]
    [InlineData("ftp://h/a%0Ab", "path contains control characters")]
    [InlineData("ftp://h/dir%0D%0ADELE%20x/file", "path contains control characters")]
    [InlineData("ftp://u%0A@h/file", "")]
    [InlineData("ftp://h:99999/file", "")]
    [InlineData("ftp://h:12a/file", "")]
    [InlineData("ftp://[::1/file", "URL using bad/illegal format or missing URL")]
    [InlineData("ftp://", "URL using bad/illegal format or missing URL")]
    [InlineData("http://h/file", "URL using bad/illegal format or missing URL")]
    public void What_libcurl_refuses_is_refused_in_its_words(string url, string message)
    {
        Assert.Equal(message, Assert.Throws<CurlTransferException>(() => FtpLocation.Parse(url)).Message);
    }
}
