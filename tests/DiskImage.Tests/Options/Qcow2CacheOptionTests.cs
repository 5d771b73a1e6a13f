using DiskImage.Formats.Qcow2;
using DiskImage.Options;

namespace DiskImage.Tests.Options;

public class Qcow2CacheOptionTests
{
    [Fact]
    public void Cache_sizes_are_taken_as_byte_counts_for_qcow2_and_left_to_refuse_for_raw()
    {
        var spec = BlockSpec.FromDotted("driver=qcow2,file.filename=a.qcow2,l2-cache-size=1M,l2-cache-entry-size=4k,cache-clean-interval=30");
        Assert.Equal("1048576", spec.Qcow2Options["l2-cache-size"]);
        Assert.Equal("4096", spec.Qcow2Options["l2-cache-entry-size"]);
        Assert.Equal("30", spec.Qcow2Options["cache-clean-interval"]);
        Assert.False(spec.IsPlain);
        Assert.Equal("a.qcow2", spec.DisplayName);

        var raw = Assert.Throws<InvalidOptionException>(() => BlockSpec.FromDotted("driver=raw,file.filename=a.img,l2-cache-size=1M"));
        Assert.Equal("Block format 'raw' does not support the option 'l2-cache-size'", raw.Message);
        Assert.Equal("Parameter 'cache-clean-interval' expects a number",
            Assert.Throws<InvalidOptionException>(() => BlockSpec.FromDotted("driver=qcow2,file.filename=a,cache-clean-interval=x")).Message);
    }

    [Theory]
    [InlineData("l2-cache-entry-size", "4096", null)]
    [InlineData("l2-cache-entry-size", "512", null)]
    [InlineData("l2-cache-entry-size", "256", "L2 cache entry size must be a power of two between 512 and the cluster size (65536)")]
    [InlineData("l2-cache-entry-size", "131072", "L2 cache entry size must be a power of two between 512 and the cluster size (65536)")]
    [InlineData("l2-cache-entry-size", "1000", "L2 cache entry size must be a power of two between 512 and the cluster size (65536)")]
    [InlineData("cache-clean-interval", "4294967296", "Cache clean interval too big")]
    [InlineData("cache-clean-interval", "4294967295", null)]
    public void Single_options_are_checked_against_the_cluster_size(string key, string value, string? error)
    {
        var options = new Dictionary<string, string> { [key] = value };
        var thrown = Record.Exception(() => Qcow2CacheOptions.Validate(options, 65536, 64L << 20, 8));
        Assert.Equal(error, thrown?.Message);
    }

    [Fact]
    public void Combined_cache_size_may_not_be_exceeded_nor_set_with_both_parts()
    {
        var all = new Dictionary<string, string> { ["cache-size"] = "1048576", ["l2-cache-size"] = "524288", ["refcount-cache-size"] = "524288" };
        Assert.Equal("cache-size, l2-cache-size and refcount-cache-size may not be set at the same time",
            Assert.Throws<InvalidOptionException>(() => Qcow2CacheOptions.Validate(all, 65536, 64L << 20, 8)).Message);
        var l2 = new Dictionary<string, string> { ["cache-size"] = "1048576", ["l2-cache-size"] = "2097152" };
        Assert.Equal("l2-cache-size may not exceed cache-size",
            Assert.Throws<InvalidOptionException>(() => Qcow2CacheOptions.Validate(l2, 65536, 64L << 20, 8)).Message);
        var refcount = new Dictionary<string, string> { ["cache-size"] = "1048576", ["refcount-cache-size"] = "2097152" };
        Assert.Equal("refcount-cache-size may not exceed cache-size",
            Assert.Throws<InvalidOptionException>(() => Qcow2CacheOptions.Validate(refcount, 65536, 64L << 20, 8)).Message);
    }
}
