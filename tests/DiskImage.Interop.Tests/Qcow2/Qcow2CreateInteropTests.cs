using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Options;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>Images we create must pass qemu-img check, agree with qemu-img info, and match qemu-img's own layout where it is simple.</summary>
public class Qcow2CreateInteropTests
{
    public static TheoryData<string, string> Variants => new()
    {
        { "", "64M" },
        { "compat=0.10", "64M" },
        { "cluster_size=512", "4M" },
        { "cluster_size=2M", "64M" },
        { "refcount_bits=1", "64M" },
        { "refcount_bits=64,cluster_size=4k", "64M" },
        { "lazy_refcounts=on", "64M" },
        { "extended_l2=on", "64M" },
        { "extended_l2=on,cluster_size=16k", "64M" },
        { "compression_type=zstd", "64M" },
        { "cluster_size=4k", "10G" },
        { "", "0" },
        { "", "1000" },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Created_images_are_byte_identical_to_qemu_img_create(string options, string size)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.qcow2");
        var theirs = dir.File("theirs.qcow2");
        Qcow2Oracle.Create(theirs, size, options);
        Create(ours, size, options);
        Qcow2Oracle.AssertCheckClean(ours);
        Qcow2Oracle.AssertInfoMatches(ours);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    [Theory]
    [InlineData("preallocation=metadata", "4M")]
    [InlineData("preallocation=falloc", "4M")]
    [InlineData("preallocation=full", "4M")]
    [InlineData("preallocation=metadata,cluster_size=512", "3M")]
    [InlineData("preallocation=full,extended_l2=on", "3M")]
    [InlineData("preallocation=metadata,compat=0.10", "3M")]
    [InlineData("preallocation=falloc,refcount_bits=1,cluster_size=4k", "6M")]
    public void Preallocated_images_are_clean_and_fully_mapped(string options, string size)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.qcow2");
        var theirs = dir.File("theirs.qcow2");
        Qcow2Oracle.Create(theirs, size, options);
        Create(ours, size, options);
        Qcow2Oracle.AssertCheckClean(ours);
        Qcow2Oracle.AssertInfoMatches(ours);
        var ourMap = ExternalTool.QemuImg("map", "--output=json", ours);
        if (options.Contains("extended_l2=on", StringComparison.Ordinal))
        {
            // QEMU leaves the subclusters of preallocated clusters unallocated: the map must be its map.
            Assert.Equal(ExternalTool.QemuImg("map", "--output=json", theirs), ourMap);
        }
        else
        {
            Assert.Contains("\"data\": true", ourMap, StringComparison.Ordinal);
            Assert.DoesNotContain("\"data\": false", ourMap, StringComparison.Ordinal);
        }

        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length, tolerance: 4L * 65536);
        Qcow2Oracle.AssertQemuCompareEqual(ours, new byte[SizeText.Parse(size)]);
    }

    [Fact]
    public void Backing_file_options_default_the_size_and_match_qemu()
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("base.qcow2");
        Qcow2Oracle.Create(basePath, "5M");
        Qcow2Oracle.Io(basePath, "write -P 0x61 1M 64k");
        var ours = dir.File("ours.qcow2");
        var theirs = dir.File("theirs.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", theirs);
        Qcow2Format.Instance.Create(ours, new Qcow2CreateOptions { BackingFile = "base.qcow2", BackingFormat = "qcow2" });
        Qcow2Oracle.AssertCheckClean(ours);
        Qcow2Oracle.AssertInfoMatches(ours);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        Qcow2Oracle.AssertSameContent(ours);
    }

    [Theory]
    [InlineData("compat=0.10,lazy_refcounts=on", "Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 or greater)")]
    [InlineData("compat=0.10,compression_type=zstd", "Non-zlib compression type is only supported with compatibility level 1.1 and above (use version=v3 or greater)")]
    [InlineData("compat=0.10,extended_l2=on", "Extended L2 entries are only supported with compatibility level 1.1 and above (use version=v3 or greater)")]
    [InlineData("compat=0.10,refcount_bits=8", "Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)")]
    [InlineData("extended_l2=on,cluster_size=8k", "Extended L2 entries are only supported with cluster sizes of at least 16384 bytes")]
    [InlineData("cluster_size=1000", "Cluster size must be a power of two between 512 and 2048k")]
    [InlineData("cluster_size=4M", "Cluster size must be a power of two between 512 and 2048k")]
    [InlineData("refcount_bits=3", "Refcount width must be a power of two and may not exceed 64 bits")]
    [InlineData("refcount_bits=128", "Refcount width must be a power of two and may not exceed 64 bits")]
    [InlineData("compat=2", "Parameter 'version' does not accept value '2'")]
    [InlineData("preallocation=bogus", "Parameter 'preallocation' does not accept value 'bogus'")]
    [InlineData("compression_type=lz4", "Parameter 'compression-type' does not accept value 'lz4'")]
    [InlineData("lazy_refcounts=maybe", "Parameter 'lazy_refcounts' expects 'on' or 'off'")]
    [InlineData("bogus=1", "Invalid parameter 'bogus'")]
    [InlineData("backing_file=x.qcow2", "Backing file specified without backing format")]
    public void Invalid_option_combinations_are_refused_in_qemu_img_words(string options, string message)
    {
        using var dir = new TempDirectory();
        Qcow2Oracle.Create(dir.File("x.qcow2"), "1M");
        var result = ExternalTool.RunIn(dir.Path, "qemu-img", "create", "-f", "qcow2", "-o", options, "t.qcow2", "1M");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(message, result.StdErr, StringComparison.Ordinal);
        var error = Assert.ThrowsAny<InvalidOptionException>(() => Qcow2Format.Instance.ParseCreateOptions(1 << 20, KeyValueOptions.Parse([options])));
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("-o", "backing_file=base.qcow2", "-F", "qcow2")]
    [InlineData("-o", "backing_fmt=qcow2", "-b", "base.qcow2")]
    public void Backing_options_from_o_and_from_b_or_F_combine_as_in_qemu_img(params string[] arguments)
    {
        // qemu-img sets -b and -F as backing_file and backing_fmt in the -o list, so either half may come from either.
        using var dir = new TempDirectory();
        Qcow2Oracle.Create(dir.File("base.qcow2"), "1M");
        var theirs = ExternalTool.RunIn(dir.Path, "qemu-img", ["create", "-f", "qcow2", .. arguments, "theirs.qcow2"]);
        var ours = Diskimg.Run(["create", "-f", "qcow2", .. arguments.Select(a => a.Replace("base.qcow2", dir.File("base.qcow2"), StringComparison.Ordinal)), dir.File("ours.qcow2")]);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(0, ours.ExitCode);
        var info = ExternalTool.QemuImg("info", dir.File("ours.qcow2"));
        Assert.Contains("backing file format: qcow2", info, StringComparison.Ordinal);
        Assert.Contains("virtual size: 1 MiB", info, StringComparison.Ordinal);
    }

    internal static void Create(string path, string size, string options)
    {
        var parsed = Qcow2Format.Instance.ParseCreateOptions(SizeText.Parse(size), KeyValueOptions.Parse([options]));
        ImageFormatRegistry.Default.Get("qcow2").Create(path, parsed);
    }
}
