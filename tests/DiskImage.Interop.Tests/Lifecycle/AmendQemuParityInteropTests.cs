using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Lifecycle;

/// <summary>
/// qemu-img amend and diskimg amend run on identical copies of an image: same stdout (progress included), stderr
/// (program name normalised), exit code, and the same file afterwards as qemu-img sees it (header dump, map, check).
/// </summary>
public class AmendQemuParityInteropTests
{
    /// <summary>Runs <paramref name="prepare"/> on two copies, amends one with each tool and compares everything.</summary>
    private static void AssertSameAsQemu(Action<string> prepare, params string[] amendArguments)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("d.qcow2");
        var theirs = dir.File("q.qcow2");
        prepare(ours);
        prepare(theirs);
        var expected = ExternalTool.Run("qemu-img", ["amend", .. amendArguments, theirs]);
        var actual = Diskimg.Run(["amend", .. amendArguments, ours]);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(expected.StdOut, theirs), QemuToolOutput.Normalise(actual.StdOut, ours));
        Assert.Equal(QemuToolOutput.Normalise(expected.StdErr, theirs), QemuToolOutput.Normalise(actual.StdErr, ours));
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", theirs), ExternalTool.QemuImg("map", "--output=json", ours));
        // Snapshot dates differ between the copies (each side took its own snapshot), so the header is compared instead.
        Assert.Equal(HeaderFields(theirs), HeaderFields(ours));
        Assert.Equal(ExternalTool.Run("qemu-img", "check", theirs).StdOut, ExternalTool.Run("qemu-img", "check", ours).StdOut);
    }

    /// <summary>What qemu-img reports of the header besides snapshots: version, lazy refcounts, dirty and corrupt bits.</summary>
    private static string HeaderFields(string image) => string.Join('\n', ExternalTool.QemuImg("info", image).Split('\n')
        .Where(l => l.StartsWith("    compat", StringComparison.Ordinal) || l.StartsWith("    lazy", StringComparison.Ordinal)
            || l.StartsWith("    corrupt", StringComparison.Ordinal) || l.StartsWith("virtual size", StringComparison.Ordinal)));

    private static void Sh(string image, string baseImage, params string[] ioCommands)
    {
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "compat=1.1", baseImage, "4G");
        ExternalTool.QemuIo("-c", "write -P 0x2a 0 128k", baseImage);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "compat=1.1", "-b", baseImage, "-F", "qcow2", image, "4G");
        foreach (var command in ioCommands)
        {
            ExternalTool.QemuIo("-c", command, image);
        }
    }

    [Fact]
    public void Downgrade_expands_zero_clusters_of_snapshots_sharing_tables_with_the_active_image()
    {
        AssertSameAsQemu(image =>
        {
            Sh(image, image + ".base", "write -z 0 64k", "write -z 1G 64k", "write -z 2G 64k", "write -z 3G 64k");
            ExternalTool.QemuImg("snapshot", "-c", "foo", image);
        }, "-p", "-o", "compat=0.10");
    }

    [Fact]
    public void Downgrade_expands_zero_clusters_of_a_snapshot_whose_tables_the_active_image_no_longer_shares()
    {
        AssertSameAsQemu(image =>
        {
            Sh(image, image + ".base", "write -z 0 64k");
            ExternalTool.QemuImg("snapshot", "-c", "foo", image);
            ExternalTool.QemuIo("-c", "write -P 0x42 0 128k", image);
        }, "-o", "compat=0.10");
    }

    [Fact]
    public void Downgrade_without_backing_file_deallocates_snapshot_zero_clusters_and_reports_progress()
    {
        AssertSameAsQemu(image =>
        {
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "compat=1.1", image, "64M");
            ExternalTool.QemuIo("-c", "write -z 0 128k", image);
            ExternalTool.QemuImg("snapshot", "-c", "foo", image);
        }, "-p", "-o", "compat=0.10");
    }

    [Theory]
    [InlineData("foo=bar")]
    [InlineData("cluster_size=1k")]
    [InlineData("encryption=on")]
    [InlineData("preallocation=on")]
    [InlineData("backing_file=x")]
    [InlineData("data_file=foo")]
    [InlineData("data_file_raw=on")]
    [InlineData("data_file_raw=off")]
    [InlineData("nocow=on")]
    public void Refusals_match_qemu_img(string option)
    {
        AssertSameAsQemu(image => ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image, "64M"), "-o", option);
    }

    [Fact]
    public void Naming_the_backing_file_the_image_already_has_is_accepted()
    {
        AssertSameAsQemu(image =>
        {
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", image + ".base", "64M");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", image + ".base", "-F", "qcow2", image, "64M");
        }, "-o", "backing_fmt=qcow2");
    }

    [Theory]
    [InlineData("l2-cache-entry-size=4096")]
    [InlineData("l2-cache-entry-size=1000")]
    [InlineData("l2-cache-entry-size=256")]
    [InlineData("cache-size=1M,l2-cache-size=512k,refcount-cache-size=512k")]
    [InlineData("cache-size=1M,l2-cache-size=2M")]
    [InlineData("cache-size=1M,refcount-cache-size=2M")]
    [InlineData("l2-cache-size=1M,refcount-cache-size=256k,cache-clean-interval=30")]
    [InlineData("cache-clean-interval=99999999999")]
    [InlineData("cache-clean-interval=abc")]
    [InlineData("l2-cache-size=abc")]
    public void Cache_options_are_accepted_and_checked_as_qemu_img_checks_them(string cacheOptions)
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "compat=1.1", image, "64M");
        ExternalTool.QemuIo("-c", "write -z 0 128k", image);
        var options = $"driver=qcow2,file.filename={image},{cacheOptions}";
        var expected = ExternalTool.Run("qemu-img", "info", "--image-opts", options);
        var actual = Diskimg.Run("info", "--image-opts", options);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(expected.StdErr), QemuToolOutput.Normalise(actual.StdErr));
        if (cacheOptions.Contains(',', StringComparison.Ordinal))
        {
            // With several unknown keys QEMU names one in its dictionary's hash order; only a single key is compared.
            return;
        }

        var rawOptions = $"driver=raw,file.filename={image},{cacheOptions}";
        Assert.Equal(QemuToolOutput.Normalise(ExternalTool.Run("qemu-img", "info", "--image-opts", rawOptions).StdErr),
            QemuToolOutput.Normalise(Diskimg.Run("info", "--image-opts", rawOptions).StdErr));
    }

    [Fact]
    public void Opening_a_dirty_image_for_amend_repairs_it_with_qemu_img_report_and_layout()
    {
        AssertSameAsQemu(image =>
        {
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "compat=1.1,lazy_refcounts=on", image, "64M");
            // qemu-io killed after a flush leaves the image dirty, its refcounts behind its L2 tables.
            ExternalTool.Run("qemu-io", "-c", "write -P 0x2a 0 128k", "-c", "flush", "-c", "sigraise 9", image);
        }, "-o", "compat=0.10");
    }
}
