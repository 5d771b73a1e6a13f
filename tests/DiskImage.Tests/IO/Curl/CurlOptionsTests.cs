using DiskImage.IO.Curl;
using DiskImage.Options;

namespace DiskImage.Tests.IO.Curl;

public class CurlOptionsTests
{
    private static CurlOptions Parse(string protocol, params (string Key, string Value)[] options) =>
        CurlOptions.Parse(protocol, options.ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal));

    [Fact]
    public void A_plain_url_takes_qemus_defaults_and_keeps_its_query_string()
    {
        var options = CurlOptions.ForUrl("https", "https://host/dir/disk.img?token=a&b=c");
        Assert.Equal("https://host/dir/disk.img?token=a&b=c", options.Url);
        Assert.Equal(256 * 1024, options.Readahead);
        Assert.Equal(5UL, options.Timeout);
        Assert.True(options.SslVerify);
        Assert.False(options.HasStrongOptions);
    }

    [Fact]
    public void Every_option_is_read()
    {
        var options = Parse("http", ("url", "http://h/x"), ("readahead", "64k"), ("timeout", "0x10"), ("sslverify", "off"), ("cookie", "a=b"),
            ("username", "u"), ("password-secret", "p"), ("proxy-username", "pu"), ("proxy-password-secret", "pp"));
        Assert.Equal((65536L, 16UL, false, "a=b", "u", "p", "pu", "pp"),
            (options.Readahead, options.Timeout, options.SslVerify, options.Cookie, options.Username, options.PasswordSecret, options.ProxyUsername, options.ProxyPasswordSecret));
        Assert.True(options.HasStrongOptions);
    }

    [Fact]
    public void Readahead_and_timeout_do_not_change_the_name()
    {
        Assert.False(Parse("http", ("url", "http://h/x"), ("readahead", "1M"), ("timeout", "9")).HasStrongOptions);
        Assert.True(Parse("http", ("url", "http://h/x"), ("cookie-secret", "c")).HasStrongOptions);
    }

    [Theory]
    [InlineData("readahead", "1000", "HTTP_READAHEAD_SIZE 1000 is not a multiple of 512")]
    [InlineData("readahead", "1G", "HTTP_READAHEAD_SIZE 1073741824 is larger than 67108864")]
    [InlineData("readahead", "x", "Parameter 'readahead' expects a non-negative number below 2^64")]
    [InlineData("timeout", "10001", "timeout parameter is too large or negative")]
    [InlineData("timeout", "-1", "timeout parameter is too large or negative")]
    [InlineData("timeout", "abc", "Parameter 'timeout' expects a number")]
    [InlineData("sslverify", "maybe", "Parameter 'sslverify' expects 'on' or 'off'")]
    public void A_bad_value_is_refused_in_qemus_words(string key, string value, string message)
    {
        var e = Assert.Throws<InvalidOptionException>(() => Parse("http", ("url", "http://h/x"), (key, value)));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Url_cookie_and_scheme_are_checked_as_qemu_checks_them()
    {
        Assert.Equal("curl block driver requires an 'url' option", Assert.Throws<InvalidOptionException>(() => Parse("http")).Message);
        Assert.Equal("curl driver cannot handle both cookie and cookie secret",
            Assert.Throws<InvalidOptionException>(() => Parse("http", ("url", "http://h/x"), ("cookie", "a"), ("cookie-secret", "b"))).Message);
        Assert.Equal("https curl driver cannot handle the URL 'http://h/x' (does not start with 'https://')",
            Assert.Throws<InvalidOptionException>(() => Parse("https", ("url", "http://h/x"))).Message);
        Assert.Equal("http curl driver cannot handle the URL 'HTTP://h/x' (does not start with 'http://')",
            Assert.Throws<InvalidOptionException>(() => Parse("http", ("url", "HTTP://h/x"))).Message);
    }

    [Theory]
    [InlineData("http://h/x", "http")]
    [InlineData("https://h/x", "https")]
    [InlineData("ftp://h/x", "ftp")]
    [InlineData("ftps://h/x", "ftps")]
    [InlineData("HTTP://h/x", null)]
    [InlineData("http:/h/x", null)]
    [InlineData("disk.img", null)]
    public void A_file_name_selects_a_curl_driver_by_its_exact_scheme(string name, string? scheme)
    {
        Assert.Equal(scheme, CurlUrl.SchemeOf(name));
        Assert.Equal(scheme is not null, CurlStorage.IsCurlUrl(name));
    }

    [Fact]
    public void Json_and_dotted_forms_carry_the_options_and_qemus_name()
    {
        var json = BlockSpec.FromJson("""json:{"driver":"qcow2","file":{"driver":"https","url":"https://h/a.qcow2","sslverify":false,"timeout":3}}""");
        Assert.Equal("https://h/a.qcow2", json.Filename);
        Assert.Equal("""json:{"driver": "qcow2", "file": {"url": "https://h/a.qcow2", "driver": "https", "sslverify": false}}""", json.DisplayName);
        var plain = BlockSpec.FromDotted("driver=qcow2,file.driver=http,file.url=http://h/b.qcow2,file.readahead=64k");
        Assert.Equal("http://h/b.qcow2", plain.DisplayName);
        Assert.Equal("Block protocol 'http' doesn't support the option 'bogus'",
            Assert.Throws<InvalidOptionException>(() => BlockSpec.FromDotted("driver=qcow2,file.driver=http,file.url=http://h/c,file.bogus=1")).Message);
    }
}
