using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// <c>create</c>, <c>convert</c> and <c>resize</c> with <c>falloc</c>/<c>full</c> preallocation into qcow2, compared byte
/// for byte with qemu-img 7.2 on identical inputs: the refcount table moved past the metadata, the first L2 table in the
/// freed first table's cluster, the data run after them, and a relinked old end's cluster keeping its old bytes.
/// </summary>
public class PreallocatedLayoutInteropTests
{
    [Theory]
    [InlineData("full", "1M", "")]
    [InlineData("full", "0", "")]
    [InlineData("full", "7777k", "cluster_size=512")]
    [InlineData("falloc", "64M", "cluster_size=2M")]
    [InlineData("falloc", "100M", "cluster_size=512,refcount_bits=1")]
    [InlineData("falloc", "100M", "extended_l2=on,lazy_refcounts=on,refcount_bits=8,cluster_size=16k")]
    [InlineData("falloc", "5M", "compat=0.10")]
    public void Create_is_byte_identical_to_qemu_img(string mode, string size, string options)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        var all = "preallocation=" + mode + (options.Length > 0 ? "," + options : "");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", all, theirs, size);
        Diskimg.Ok("create", "-q", "-f", "qcow2", "-o", all, ours, size);
        AssertSameBytes(theirs, ours);
    }

    [Theory]
    [InlineData("full", "")]
    [InlineData("falloc", "cluster_size=512")]
    [InlineData("falloc", "cluster_size=2M,extended_l2=on")]
    public void Convert_is_byte_identical_to_qemu_img(string mode, string options)
    {
        using var dir = new TempDirectory();
        var source = dir.File("source.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", source, "20M");
        ExternalTool.QemuIo("-c", "write -P 3 0 100k", "-c", "write -P 5 3M 1M", "-c", "write -z 8M 1M", "-c", "write -P 9 19M 64k", source);
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        var all = "preallocation=" + mode + (options.Length > 0 ? "," + options : "");
        ExternalTool.QemuImg("convert", "-O", "qcow2", "-o", all, source, theirs);
        Diskimg.Ok("convert", "-O", "qcow2", "-o", all, source, ours);
        AssertSameBytes(theirs, ours);
    }

    /// <summary>Random clusters sizes, options, sizes and growths (a fixed seed per case, so a failure repeats).</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_creates_and_growths_match_qemu_img(int seed)
    {
        var random = new Random(seed);
        string[] clusters = ["512", "4k", "16k", "64k", "2M"];
        string[] extras = ["", ",refcount_bits=1", ",refcount_bits=64", ",extended_l2=on", ",lazy_refcounts=on"];
        var cluster = clusters[random.Next(clusters.Length)];
        var extra = extras[random.Next(extras.Length)];
        // Extended L2 entries need clusters of at least 16 KiB.
        extra = extra == ",extended_l2=on" && cluster is "512" or "4k" ? "" : extra;
        var options = "cluster_size=" + cluster + extra;
        var mode = random.Next(2) == 0 ? "full" : "falloc";
        var size = (random.Next(1, 40 * 1024) * 512L).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var growth = "+" + (random.Next(1, 60 * 1024) * 512L).ToString(System.Globalization.CultureInfo.InvariantCulture);

        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", options + ",preallocation=" + mode, theirs, size);
        Diskimg.Ok("create", "-q", "-f", "qcow2", "-o", options + ",preallocation=" + mode, ours, size);
        AssertSameBytes(theirs, ours);

        ExternalTool.QemuIo("-c", "write -P 7 0 31k", theirs);
        ExternalTool.QemuIo("-c", "write -P 7 0 31k", ours);
        ExternalTool.QemuImg("resize", "-q", "--preallocation=" + mode, theirs, growth);
        Diskimg.Ok("resize", "-q", "--preallocation=" + mode, ours, growth);
        AssertSameBytes(theirs, ours);
    }

    /// <summary>Growth whose old end lies in a data cluster (2 MiB clusters): the cluster is relinked and its old bytes stay.</summary>
    [Fact]
    public void Resize_relinking_the_old_end_keeps_its_old_bytes_as_qemu_img()
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=2M", theirs, "1M");
        ExternalTool.QemuIo("-c", "write -P 7 0 31k", "-c", "write -P 8 100k 5k", theirs);
        File.Copy(theirs, ours);
        ExternalTool.QemuImg("resize", "-q", "--preallocation=falloc", theirs, "+30M");
        Diskimg.Ok("resize", "-q", "--preallocation=falloc", ours, "+30M");
        AssertSameBytes(theirs, ours);
    }

    private static void AssertSameBytes(string theirs, string ours)
    {
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        using var a = File.OpenRead(theirs);
        using var b = File.OpenRead(ours);
        var x = new byte[1 << 20];
        var y = new byte[1 << 20];
        for (long offset = 0; ; offset += x.Length)
        {
            var n = a.ReadAtLeast(x, x.Length, throwOnEndOfStream: false);
            var m = b.ReadAtLeast(y, y.Length, throwOnEndOfStream: false);
            Assert.Equal(n, m);
            Assert.True(x.AsSpan(0, n).SequenceEqual(y.AsSpan(0, m)), $"the files differ in the MiB at {offset}");
            if (n < x.Length)
            {
                return;
            }
        }
    }
}
