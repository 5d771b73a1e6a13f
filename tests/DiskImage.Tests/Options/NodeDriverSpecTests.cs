using DiskImage.IO;
using DiskImage.Options;

namespace DiskImage.Tests.Options;

/// <summary>
/// Node options beyond a format over a file: the backing node's file, <c>cache.direct</c>, the host protocol drivers
/// as the top node, and the filter drivers on top, read the same way whether spelled as <c>json:</c> or dotted.
/// Messages are QEMU's (block.c, block/file-posix.c).
/// </summary>
public class NodeDriverSpecTests
{
    [Fact]
    public void The_backing_file_named_in_the_options_is_kept_in_both_spellings()
    {
        var dotted = BlockSpec.FromDotted("driver=qcow2,file.filename=o.qcow2,backing.driver=qcow2,backing.file.driver=file,backing.file.filename=b.qcow2");
        var json = BlockSpec.FromJson("json:{'driver': 'qcow2', 'file': {'filename': 'o.qcow2'}, 'backing': {'driver': 'qcow2', 'file': {'filename': 'b.qcow2'}}}");
        foreach (var spec in new[] { dotted, json })
        {
            Assert.Equal("b.qcow2", spec.BackingFilename);
            Assert.Equal("qcow2", spec.BackingDriver);
            Assert.False(spec.IsPlain);
        }

        Assert.Throws<UnsupportedFeatureException>(() => BlockSpec.FromDotted("driver=qcow2,file.filename=o,backing.file.driver=nbd,backing.file.filename=x"));
        Assert.Throws<UnsupportedFeatureException>(() => BlockSpec.FromDotted("driver=qcow2,file.filename=o,backing.file.bogus=1"));
    }

    [Fact]
    public void Cache_direct_is_a_boolean_of_any_node()
    {
        Assert.True(BlockSpec.FromDotted("driver=raw,file.filename=r,cache.direct=on").CacheDirect);
        Assert.False(BlockSpec.FromJson("json:{'driver': 'raw', 'cache': {'direct': false}, 'file': {'filename': 'r'}}").CacheDirect);
        Assert.True(BlockSpec.FromDotted("driver=raw,file.filename=r,file.cache.direct=on").CacheDirect);
        Assert.Equal("Parameter 'cache.direct' expects 'on' or 'off'", Assert.Throws<InvalidOptionException>(() => BlockSpec.FromDotted("driver=raw,file.filename=r,cache.direct=maybe")).Message);
    }

    [Theory]
    [InlineData("file")]
    [InlineData("host_device")]
    [InlineData("host_cdrom")]
    public void A_host_protocol_as_the_top_node_keeps_its_file_and_locking(string driver)
    {
        var spec = BlockSpec.FromDotted($"driver={driver},filename=/dev/null,locking=off");
        Assert.Equal(driver, spec.Protocol);
        Assert.Equal("/dev/null", spec.Filename);
        Assert.Equal(ImageLocking.Off, spec.Locking);
        Assert.False(spec.IsPlain);
        Assert.Equal($"Block protocol '{driver}' doesn't support the option 'bogus'", Assert.Throws<InvalidOptionException>(() => BlockSpec.FromDotted($"driver={driver},filename=x,bogus=1")).Message);
        Assert.Equal($"The '{driver}' block driver requires a file name", Assert.Throws<InvalidOptionException>(() => BlockSpec.FromDotted($"driver={driver}")).Message);
    }

    [Fact]
    public void Filters_on_top_are_peeled_to_the_node_under_them()
    {
        var peeled = FilterNodes.Peel<string>([.. KeyValueOptions.Parse(["driver=compress,file.driver=copy-on-read,file.file.driver=qcow2,file.file.file.filename=c.qcow2"])], v => v, v => v);
        Assert.True(peeled.Compress);
        Assert.True(peeled.CopyOnRead);
        Assert.Equal(["driver=qcow2", "file.filename=c.qcow2"], peeled.Options.Select(o => $"{o.Key}={o.Value}"));

        var plain = FilterNodes.Peel<string>([.. KeyValueOptions.Parse(["driver=qcow2,file.filename=c.qcow2"])], v => v, v => v);
        Assert.False(plain.HadFilters);

        Assert.Equal("A block device must be specified for \"file\"", Assert.Throws<InvalidOptionException>(() => FilterNodes.Peel<string>([new KeyValuePair<string, string>("driver", "compress")], v => v, v => v)).Message);
        // The filter checks the node it opened before options it lacks are refused (qemu-img's order).
        Assert.Equal("Compression is not supported for underlying format: file",
            Assert.Throws<InvalidOptionException>(() => FilterNodes.Peel<string>([.. KeyValueOptions.Parse(["driver=compress,file.filename=a,bogus=1"])], v => v, v => v)).Message);
        Assert.Equal("Block format 'compress' does not support the option 'bogus'",
            Assert.Throws<InvalidOptionException>(() => FilterNodes.Peel<string>([.. KeyValueOptions.Parse(["driver=compress,file.driver=qcow2,file.file.filename=a,bogus=1"])], v => v, v => v)).Message);
    }

    [Fact]
    public void An_image_opts_list_with_a_filter_travels_as_its_json_name()
    {
        var opts = ImageOpts.Parse("driver=compress,file.driver=qcow2,file.file.filename=c.qcow2");
        Assert.Null(opts.Driver);
        Assert.Equal("c.qcow2", opts.Filename);
        Assert.StartsWith("json:", opts.OpenName, StringComparison.Ordinal);
        Assert.Contains("\"compress\"", opts.OpenName, StringComparison.Ordinal);
    }
}
