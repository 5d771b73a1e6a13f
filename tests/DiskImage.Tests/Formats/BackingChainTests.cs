using DiskImage.Formats;

namespace DiskImage.Tests.Formats;

/// <summary><see cref="BackingChain.Extend"/>: the check every format with backing files makes before opening one.</summary>
public class BackingChainTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("backing-chain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_new_backing_file_extends_the_chain_with_the_image()
    {
        var top = Touch("top.img");
        var chain = BackingChain.Extend(top, Touch("base.img"), new ImageOpenOptions { OpeningChain = [Touch("above.img")] });
        Assert.Equal([Path.Combine(_dir, "above.img"), top], chain);
    }

    [Fact]
    public void A_backing_file_already_in_the_chain_by_name_is_a_loop()
    {
        var top = Touch("top.img");
        var error = Assert.Throws<InvalidImageException>(() => BackingChain.Extend(top, top, new ImageOpenOptions()));
        Assert.Equal($"Backing chain of '{top}' loops back to '{top}'", error.Message);
    }

    [Fact]
    public void A_symlink_back_into_the_chain_is_a_loop()
    {
        var top = Touch("top.img");
        var link = Path.Combine(_dir, "link.img");
        File.CreateSymbolicLink(link, top);
        Assert.Throws<InvalidImageException>(() => BackingChain.Extend(top, link, new ImageOpenOptions()));
    }

    [Fact]
    public void A_chain_of_the_maximum_depth_is_refused()
    {
        var above = Enumerable.Range(0, BackingChain.MaxDepth - 1).Select(i => Path.Combine(_dir, $"layer{i}.img")).ToList();
        var top = Touch("top.img");
        var error = Assert.Throws<InvalidImageException>(() => BackingChain.Extend(top, Touch("base.img"), new ImageOpenOptions { OpeningChain = above }));
        Assert.Contains("too deep (more than 64 images)", error.Message, StringComparison.Ordinal);
    }

    private string Touch(string name)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, []);
        return path;
    }
}
