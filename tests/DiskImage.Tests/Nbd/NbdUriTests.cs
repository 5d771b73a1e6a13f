using DiskImage.Nbd.Client;

namespace DiskImage.Tests.Nbd;

public class NbdUriTests
{
    [Theory]
    [InlineData("nbd://example.org/disk", "example.org", 10809, null, "disk")]
    [InlineData("nbd://127.0.0.1:10900", "127.0.0.1", 10900, null, "")]
    [InlineData("nbd://[::1]:10901/a%20b", "::1", 10901, null, "a b")]
    [InlineData("nbd+unix:///vm?socket=/tmp/s.sock", null, 0, "/tmp/s.sock", "vm")]
    [InlineData("nbd+unix://?socket=/tmp/s.sock", null, 0, "/tmp/s.sock", "")]
    public void Parses_qemu_uri_forms(string text, string? host, int port, string? socket, string export)
    {
        var uri = NbdUri.Parse(text);
        Assert.Equal(new NbdUri(host, port, socket, export), uri);
    }

    [Theory]
    [InlineData("nbd+unix:///vm")]
    [InlineData("nbd+unix://host/vm?socket=/s")]
    [InlineData("nbd://:10809/x")]
    [InlineData("nbd://h:99999/x")]
    [InlineData("nbd://h:abc/x")]
    [InlineData("nbd://h/x?socket=/s")]
    public void Refuses_malformed_uris_with_an_option_error(string text) =>
        Assert.Throws<InvalidOptionException>(() => NbdUri.Parse(text));

    [Theory]
    [InlineData("nbd+unix:///?socket=/tmp/s", "nbd+unix://?socket=/tmp/s")]
    [InlineData("nbd+unix:///vm?socket=/tmp/s", "nbd+unix:///vm?socket=/tmp/s")]
    [InlineData("nbd://localhost/vm", "nbd://localhost:10809/vm")]
    public void Prints_names_as_qemu_img_does(string text, string printed) => Assert.Equal(printed, NbdUri.Parse(text).ToString());

    [Fact]
    public void Image_opts_server_options_become_a_uri()
    {
        var opts = DiskImage.Options.ImageOpts.Parse("driver=qcow2,file.driver=nbd,file.server.type=unix,file.server.path=/tmp/x.sock,file.export=e");
        Assert.Equal("qcow2", opts.Driver);
        Assert.Equal("nbd+unix:///e?socket=/tmp/x.sock", opts.Filename);
        var top = DiskImage.Options.ImageOpts.Parse("driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=10999");
        Assert.Equal("nbd", top.Driver);
        Assert.Equal("nbd://127.0.0.1:10999/", top.Filename);
    }
}
