using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Lifecycle;

/// <summary>
/// A safe rebase allocates the image's new clusters in qemu-img's order and pieces (buffers of at most 2 MiB, each
/// run of differing sectors one write), so the same rebase by either tool leaves the same layout: <c>qemu-img map
/// --output=json</c> of both results is identical, host offsets included (QEMU's test 024 prints such a map). The
/// guest content is kept and <c>qemu-img check</c> is clean.
/// </summary>
public class RebaseLayoutInteropTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var format in new[] { "qcow2", "qed" })
        {
            foreach (var scenario in new[] { "one-run", "sectors", "short-backings", "no-new-backing", "past-buffer" })
            {
                data.Add(format, scenario);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rebase_leaves_qemu_img_s_layout(string format, string scenario)
    {
        using var dir = new TempDirectory();
        var theirs = Make(Directory.CreateDirectory(dir.File("theirs")).FullName, format, scenario);
        var ours = Make(Directory.CreateDirectory(dir.File("ours")).FullName, format, scenario);
        var expected = ours + ".expected.raw";
        ExternalTool.QemuImg("convert", "-f", format, "-O", "raw", ours, expected);

        string[] target = scenario == "no-new-backing" ? ["-b", ""] : ["-b", "new.raw", "-F", "raw"];
        ExternalTool.QemuImg(["rebase", "-f", format, .. target, theirs]);
        Diskimg.Ok(["rebase", "-f", format, .. target, ours]);

        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", "-f", format, ours).ExitCode);
        var compare = ExternalTool.Run("qemu-img", "compare", "-f", format, "-F", "raw", ours, expected);
        Assert.True(compare.ExitCode == 0, compare.StdOut + compare.StdErr);
        Assert.Equal(ExternalTool.QemuImg("map", "-f", format, "--output=json", theirs), ExternalTool.QemuImg("map", "-f", format, "--output=json", ours));
    }

    /// <summary>Builds img.FORMAT over old.raw, with new.raw beside it, as the scenario wants; returns the image's path.</summary>
    private static string Make(string dir, string format, string scenario)
    {
        var image = Path.Combine(dir, "img." + format);
        var old = Path.Combine(dir, "old.raw");
        var next = Path.Combine(dir, "new.raw");
        var (size, oldSize, newSize) = scenario switch
        {
            "short-backings" => ("1M", "300k", "700k"),
            "past-buffer" => ("5M", "5M", "5M"),
            _ => ("1M", "1M", "1M"),
        };
        ExternalTool.QemuImg("create", "-q", "-f", "raw", old, oldSize);
        ExternalTool.QemuImg("create", "-q", "-f", "raw", next, newSize);
        ExternalTool.QemuImg("create", "-q", "-f", format, "-b", "old.raw", "-F", "raw", image, size);
        switch (scenario)
        {
            case "one-run":
                // QEMU's test 024: three differing clusters in a row are one write, so three contiguous clusters.
                ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x11 0 128k", "-c", "write -P 0x11 192k 64k", old);
                ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x22 64k 128k", "-c", "write -P 0x11 192k 64k", next);
                break;
            case "sectors":
                // Differences that start and end inside clusters, and an allocated cluster in between.
                ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x33 0 1M", old);
                ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x33 0 1M", "-c", "write -P 0x44 40k 8k", "-c", "write -P 0x55 130560 200k",
                    "-c", "write -P 0x66 700k 512", next);
                ExternalTool.QemuIo("-f", format, "-c", "write -P 0x77 256k 64k", image);
                break;
            case "short-backings":
                // Past the old backing file's end the old content is zeroes; the new one ends elsewhere.
                ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x33 0 300k", old);
                ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x88 0 700k", next);
                ExternalTool.QemuIo("-f", format, "-c", "write -P 0x77 64k 64k", image);
                break;
            case "no-new-backing":
                ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x33 100k 300k", "-c", "write -P 0x34 900k 100k", old);
                ExternalTool.QemuIo("-f", format, "-c", "write -P 0x77 128k 64k", image);
                break;
            default:
                // Differences across the 2 MiB buffers qemu-img compares at once.
                ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x33 0 5M", old);
                ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x33 0 5M", "-c", "write -P 0x99 1M 2M", "-c", "write -P 0x9a 4100k 10k", next);
                ExternalTool.QemuIo("-f", format, "-c", "write -P 0x77 2560k 64k", image);
                break;
        }

        return image;
    }
}
