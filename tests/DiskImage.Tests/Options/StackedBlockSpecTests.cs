using DiskImage.Options;

namespace DiskImage.Tests.Options;

/// <summary>Format nodes under a format (<c>file.driver</c> naming raw or qcow2), in json: and dotted spellings.</summary>
public class StackedBlockSpecTests
{
    [Fact]
    public void A_raw_window_under_qcow2_is_a_nested_node_with_the_host_file_below()
    {
        var json = BlockSpec.FromJson("""json:{"driver":"qcow2","file":{"driver":"raw","offset":65536,"file":{"filename":"a.raw"}}}""");
        var dotted = BlockSpec.FromDotted("driver=qcow2,file.driver=raw,file.offset=64k,file.file.filename=a.raw");
        foreach (var spec in new[] { json, dotted })
        {
            Assert.Equal("qcow2", spec.Driver);
            Assert.Null(spec.RawOffset);
            Assert.Equal("a.raw", spec.Filename);
            Assert.False(spec.IsPlain);
            var node = Assert.IsType<BlockSpec>(spec.File);
            Assert.Equal("raw", node.Driver);
            Assert.Equal(65536, node.RawOffset);
            Assert.Null(node.File);
        }

        // As qemu-img 7.2 prints this name (its "image:" line for the same json: name).
        Assert.Equal("""json:{"driver": "qcow2", "file": {"offset": 65536, "driver": "raw", "file": {"driver": "file", "filename": "a.raw"}}}""", json.DisplayName);
    }

    [Fact]
    public void Qcow2_can_be_the_file_of_qcow2()
    {
        var spec = BlockSpec.FromDotted("driver=qcow2,file.driver=qcow2,file.file.filename=t.qcow2");
        Assert.Equal("qcow2", spec.File?.Driver);
        Assert.Equal("t.qcow2", spec.Filename);
        Assert.Equal("""json:{"driver": "qcow2", "file": {"driver": "qcow2", "file": {"driver": "file", "filename": "t.qcow2"}}}""", spec.DisplayName);
    }

    [Fact]
    public void Options_of_the_nested_node_are_checked_there()
    {
        var e = Assert.Throws<InvalidOptionException>(() => BlockSpec.FromDotted("driver=qcow2,file.driver=raw,file.bogus=1,file.file.filename=a"));
        Assert.Equal("Block format 'raw' does not support the option 'bogus'", e.Message);
        Assert.Throws<InvalidOptionException>(() => BlockSpec.FromDotted("driver=qcow2,file.driver=raw,file.size=100,file.file.filename=a"));
    }

    [Fact]
    public void Formats_that_cannot_stack_and_endless_stacks_are_refused()
    {
        var luks = Assert.Throws<UnsupportedFeatureException>(() => BlockSpec.FromDotted("driver=qcow2,file.driver=luks,file.file.filename=a"));
        Assert.Contains("luks", luks.Message, StringComparison.Ordinal);
        // blkverify misses its "raw" child first, as in qemu-img; with it, it still cannot stack here.
        Assert.Equal("A block device must be specified for \"raw\"", Assert.Throws<InvalidOptionException>(() => BlockSpec.FromDotted("driver=qcow2,file.driver=blkverify,file.image.filename=a")).Message);
        Assert.Equal("Unknown driver 'blkverify'", Assert.Throws<InvalidOptionException>(() => BlockSpec.FromDotted("driver=qcow2,file.driver=blkverify,file.raw.filename=a,file.test.filename=a")).Message);

        // A blkdebug node is not a format: its image is the file, and its rules go with the spec.
        var blkdebug = BlockSpec.FromDotted("driver=qcow2,file.driver=blkdebug,file.image.filename=a,file.inject-error.0.event=l2_load");
        Assert.Equal("a", blkdebug.Filename);
        Assert.Equal(DiskImage.IO.Blkdebug.BlkdebugEvent.L2Load, Assert.Single(blkdebug.BlkdebugRules!).Event);
        Assert.Equal("Block protocol 'blkdebug' doesn't support the option 'bogus'", Assert.Throws<InvalidOptionException>(() => BlockSpec.FromDotted("driver=qcow2,file.driver=blkdebug,file.image.filename=a,file.bogus=1")).Message);

        var deep = "driver=qcow2," + string.Concat(Enumerable.Range(1, BlockSpec.MaxFormatNesting + 1).Select(i => string.Concat(Enumerable.Repeat("file.", i)) + "driver=qcow2,")) + string.Concat(Enumerable.Repeat("file.", BlockSpec.MaxFormatNesting + 2)) + "filename=a";
        Assert.Contains("nested", Assert.Throws<InvalidOptionException>(() => BlockSpec.FromDotted(deep)).Message, StringComparison.Ordinal);
    }
}
