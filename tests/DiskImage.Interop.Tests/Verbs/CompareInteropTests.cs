using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Verbs;

public class CompareInteropTests
{
    /// <summary>A set of raw and qcow2 images, some alike, some not, made and written by qemu's tools.</summary>
    private sealed class Images : IDisposable
    {
        private readonly TempDirectory _dir = new();

        public Images()
        {
            ExternalTool.QemuImg("create", "-f", "raw", File("empty.raw"), "1M");
            ExternalTool.QemuImg("create", "-f", "raw", File("empty2M.raw"), "2M");
            ExternalTool.QemuImg("create", "-f", "raw", File("b.raw"), "1M");
            ExternalTool.QemuIo("-f", "raw", "-c", "write -P 1 70000 1", "-c", "write -P 3 300k 64k", File("b.raw"));
            ExternalTool.QemuImg("create", "-f", "raw", File("tail.raw"), "2M");
            ExternalTool.QemuIo("-f", "raw", "-c", "write -P 1 1500000 1", File("tail.raw"));
            ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow2", File("b.raw"), File("b.qcow2"));
            ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow2", File("tail.raw"), File("tail.qcow2"));
            ExternalTool.QemuImg("create", "-f", "qcow2", File("b2.qcow2"), "1M");
            ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 1 70000 1", "-c", "write -P 3 300k 64k", "-c", "write -P 7 100000 3", File("b2.qcow2"));
            ExternalTool.QemuImg("create", "-f", "qcow2", "-b", File("tail.qcow2"), "-F", "qcow2", File("overlay.qcow2"), "3M");
            ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 9 2M 4k", "-c", "write -z 1400k 200k", File("overlay.qcow2"));
            ExternalTool.QemuImg("create", "-f", "qcow2", "-b", File("b.qcow2"), "-F", "qcow2", File("same-as-b.qcow2"));
            System.IO.File.WriteAllBytes(File("odd1000.raw"), new byte[1000]);
            System.IO.File.WriteAllBytes(File("odd1024.raw"), new byte[1024]);
        }

        public string File(string name) => _dir.File(name);

        public void Dispose() => _dir.Dispose();
    }

    public static TheoryData<string[]> Pairs() => new()
    {
        new[] { "-f", "raw", "-F", "raw", "b.raw", "b.raw" },
        new[] { "-f", "raw", "-F", "raw", "empty.raw", "b.raw" },
        new[] { "-f", "raw", "-F", "raw", "b.raw", "empty.raw" },
        new[] { "-f", "raw", "-F", "raw", "empty.raw", "empty2M.raw" },
        new[] { "-s", "-f", "raw", "-F", "raw", "empty.raw", "empty2M.raw" },
        new[] { "-f", "raw", "-F", "raw", "empty.raw", "tail.raw" },
        new[] { "-f", "raw", "-F", "raw", "tail.raw", "empty.raw" },
        new[] { "-f", "raw", "-F", "qcow2", "b.raw", "b.qcow2" },
        new[] { "-s", "-f", "raw", "-F", "qcow2", "b.raw", "b.qcow2" },
        new[] { "-s", "b.qcow2", "b.qcow2" },
        new[] { "b.qcow2", "b2.qcow2" },
        new[] { "b2.qcow2", "b.raw" },
        new[] { "-f", "raw", "empty.raw", "tail.qcow2" },
        new[] { "overlay.qcow2", "tail.qcow2" },
        new[] { "tail.qcow2", "overlay.qcow2" },
        new[] { "same-as-b.qcow2", "b.qcow2" },
        new[] { "-F", "raw", "same-as-b.qcow2", "b.raw" },
        new[] { "-f", "raw", "-F", "raw", "odd1000.raw", "odd1024.raw" },
        new[] { "-q", "-f", "raw", "-F", "raw", "empty.raw", "b.raw" },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Verdict_exit_code_and_first_differing_offset_match_qemu_img(string[] args)
    {
        using var images = new Images();
        string[] resolved = [.. args.Select(a => a.Contains('.', StringComparison.Ordinal) ? images.File(a) : a)];
        var theirs = ExternalTool.Run("qemu-img", ["compare", .. resolved]);
        var ours = Diskimg.Run(["compare", .. resolved]);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal("", ours.StdErr);
    }

    [Fact]
    public void A_missing_image_exits_2_with_one_error_line()
    {
        using var images = new Images();
        string[] args = ["compare", "-f", "raw", "-F", "raw", images.File("b.raw"), images.File("missing.raw")];
        var theirs = ExternalTool.Run("qemu-img", args);
        var ours = Diskimg.Run(args);
        Assert.Equal(2, theirs.ExitCode);
        Assert.Equal(2, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Trim().Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal), ours.StdErr.Trim());
    }

    [Fact]
    public void An_image_we_wrote_compares_equal_in_qemu_img_and_ours()
    {
        using var images = new Images();
        var copy = images.File("copy.raw");
        File.Copy(images.File("empty.raw"), copy);
        Diskimg.Ok("io", "-f", "raw", "-c", "write -P 1 70000 1", "-c", "write -P 3 300k 64k", copy);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "raw", copy, images.File("b.raw")).ExitCode);
        Assert.Equal("Images are identical.\n", Diskimg.Ok("compare", "-f", "raw", "-F", "qcow2", copy, images.File("b.qcow2")));
    }
}
