using DiskImage.IO;
using DiskImage.Options;

namespace DiskImage.Tests.Options;

public class BlockSpecTests
{
    [Fact]
    public void Json_and_dotted_forms_describe_the_same_image()
    {
        var json = BlockSpec.FromJson("""json:{"driver":"raw","offset":512,"size":"1M","force-share":true,"file":{"filename":"d.img","locking":"off"}}""");
        var dotted = BlockSpec.FromDotted("driver=raw,offset=512,size=1M,force-share=on,file.filename=d.img,file.locking=off");
        foreach (var spec in new[] { json, dotted })
        {
            Assert.Equal("raw", spec.Driver);
            Assert.Equal("d.img", spec.Filename);
            Assert.Equal(512, spec.RawOffset);
            Assert.Equal(1 << 20, spec.RawSize);
            Assert.True(spec.ForceShare);
            Assert.Equal(ImageLocking.Off, spec.Locking);
            Assert.False(spec.IsPlain);
        }

        // Values keep their JSON kind in the name qemu-img prints: a number stays a number, a string a string.
        Assert.Equal("""json:{"offset": 512, "driver": "raw", "size": "1M", "file": {"driver": "file", "filename": "d.img"}}""", json.DisplayName);
        Assert.Equal("""json:{"offset": "512", "driver": "raw", "size": "1M", "file": {"driver": "file", "filename": "d.img"}}""", dotted.DisplayName);
    }

    [Fact]
    public void A_plain_description_is_shown_by_its_file_name()
    {
        var spec = BlockSpec.FromJson("""json:{"driver":"qcow2","file":{"driver":"file","filename":"a.qcow2"}}""");
        Assert.True(spec.IsPlain);
        Assert.Equal("a.qcow2", spec.DisplayName);
    }

    [Fact]
    public void A_qcow2_key_secret_names_the_image_by_its_description()
    {
        // The name qemu-img 7.2 prints for this json: name (`qemu-img info`'s "image:" line).
        var spec = BlockSpec.FromJson("""json:{"driver":"qcow2","encrypt.key-secret":"sec0","file":{"driver":"file","filename":"a.qcow2"}}""");
        Assert.False(spec.IsPlain);
        Assert.Equal("""json:{"encrypt.key-secret": "sec0", "driver": "qcow2", "file": {"driver": "file", "filename": "a.qcow2"}}""", spec.DisplayName);
        Assert.Equal("sec0", spec.KeySecret);
    }

    [Fact]
    public void Backing_null_opens_without_the_chain()
    {
        Assert.True(BlockSpec.FromJson("""json:{"driver":"qcow2","backing":null,"file":{"filename":"a"}}""").NoBacking);
        Assert.True(BlockSpec.FromDotted("driver=qcow2,backing=,file.filename=a").NoBacking);
    }

    [Fact]
    public void Dotted_lists_become_json_names_that_parse_back_to_the_same_description()
    {
        const string list = "driver=raw,offset=1k,file.filename=a\"b,file.locking=on";
        var again = BlockSpec.FromJson(BlockSpec.DottedToJsonName(list));
        Assert.Equal(BlockSpec.FromDotted(list), again);
    }

    [Fact]
    public void Nbd_servers_become_uris()
    {
        var spec = BlockSpec.FromJson("""json:{"driver":"raw","file":{"driver":"nbd","server":{"type":"unix","path":"/run/s.sock"},"export":"e"}}""");
        Assert.StartsWith("nbd+unix://", spec.Filename, StringComparison.Ordinal);
        Assert.Contains("/run/s.sock", spec.Filename, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""json:{"filename":"a"}""", "Must specify either driver or file")]
    [InlineData("""json:{"driver":"raw","file":"a"}""", "Cannot find device='a' nor node-name='a'")]
    [InlineData("""json:{"driver":"raw"}""", "A block device must be specified for \"file\"")]
    [InlineData("""json:{"driver":"raw","file":{"driver":"file"}}""", "The 'file' block driver requires a file name")]
    [InlineData("""json:{"driver":"raw","file":{"driver":"gluster","filename":"a"}}""", "Unknown driver 'gluster'")]
    [InlineData("""json:{"driver":"raw","file":{"filename":"a","x":1}}""", "Block protocol 'file' doesn't support the option 'x'")]
    [InlineData("""json:{"driver":"qcow2","offset":1,"file":{"filename":"a"}}""", "Block format 'qcow2' does not support the option 'offset'")]
    [InlineData("""json:{"driver":"raw","size":100,"file":{"filename":"a"}}""", "Specified size is not multiple of 512")]
    [InlineData("""json:{"driver":"raw","file":{"filename":"a","locking":"x"}}""", "invalid parameter value: x")]
    [InlineData("""json:{"driver":"raw","force-share":"x","file":{"filename":"a"}}""", "Parameter 'force-share' expects 'on' or 'off'")]
    [InlineData("""json:{"driver":"raw","offset":true,"file":{"filename":"a"}}""", "Parameter 'offset' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.")]
    public void Bad_options_are_refused_in_qemu_s_words(string name, string message)
    {
        var error = Assert.ThrowsAny<DiskImageException>(() => BlockSpec.FromJson(name));
        Assert.Equal(message, error.Message);
    }
}
