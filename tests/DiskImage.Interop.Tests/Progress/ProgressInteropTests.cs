using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Progress;

/// <summary>
/// <c>-p</c> of rebase, <c>convert -c</c>, <c>amend -o refcount_bits</c> and commit compared with qemu-img's on identical copies of random chains:
/// rebase, compressed convert and amend byte for byte (their steps follow the pieces, clusters and refcount table
/// entries they visit, which do not depend on timing). QEMU's commit job has up to 16 requests in flight and prints whatever has finished when its
/// loop wakes, so its figures vary from run to run; diskimg prints them in request order, one per request, and
/// every figure qemu-img prints must be the sum of some of those requests.
/// </summary>
public partial class ProgressInteropTests
{
    private const long MiB = 1 << 20;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Rebase_progress_is_qemu_imgs(int seed)
    {
        var random = new Random(seed);
        using var dir = new TempDirectory();
        var size = (random.Next(1, 24) * MiB) + (random.Next(0, 2) * 512 * 1024);
        CreateWithWrites(dir, "a.qcow2", random.Next(1, 30) * MiB, null, random, 4);
        CreateWithWrites(dir, "b.qcow2", size, "a.qcow2", random, 4);
        CreateWithWrites(dir, "c.qcow2", size, "b.qcow2", random, 4);
        CreateWithWrites(dir, "n.qcow2", random.Next(1, 30) * MiB, null, random, 3);
        string[] arguments = random.Next(3) switch
        {
            0 => ["rebase", "-p", "-b", "n.qcow2", "-F", "qcow2", "c.qcow2"],
            1 => ["rebase", "-p", "-b", "a.qcow2", "-F", "qcow2", "c.qcow2"],
            _ => ["rebase", "-p", "-b", "", "c.qcow2"],
        };

        var (theirs, ours) = RunBoth(dir, arguments);
        Assert.Contains("(100.00/100%)", theirs, StringComparison.Ordinal);
        Assert.Equal(theirs, ours);
    }

    [Theory]
    [InlineData(1, "64k")]
    [InlineData(2, "4k")]
    [InlineData(3, "64k")]
    [InlineData(4, "16k")]
    public void Compressed_convert_progress_is_qemu_imgs(int seed, string clusterSize)
    {
        var random = new Random(seed);
        using var dir = new TempDirectory();
        var size = (random.Next(1, 6) * MiB) + (random.Next(0, 3) * 4096);
        CreateWithWrites(dir, "a.qcow2", size, null, random, 3);
        CreateWithWrites(dir, "b.qcow2", size, "a.qcow2", random, 4);
        var (theirs, ours) = RunBoth(dir, ["convert", "-p", "-c", "-O", "qcow2", "-o", "cluster_size=" + clusterSize, "b.qcow2", "x.qcow2"]);
        Assert.True(Figures(theirs).Count > 3, theirs);
        Assert.Equal(theirs, ours);
    }

    [Theory]
    [InlineData("512", "1")]
    [InlineData("4k", "64")]
    [InlineData("64k", "2")]
    public void Amend_refcount_width_progress_is_qemu_imgs(string clusterSize, string bits)
    {
        using var dir = new TempDirectory();
        QemuImg(dir, "create", "-q", "-f", "qcow2", "-o", "cluster_size=" + clusterSize, "a.qcow2", "64M");
        QemuIo(dir, "a.qcow2", "write -P 1 0 10M", "write -P 2 40M 1M");
        var (theirs, ours) = RunBoth(dir, ["amend", "-p", "-o", "refcount_bits=" + bits, "a.qcow2"]);
        Assert.True(Figures(theirs).Count > 50, theirs);
        Assert.Equal(theirs, ours);
    }

    [Fact]
    public void Commit_progress_steps_are_the_jobs_requests()
    {
        using var dir = new TempDirectory();
        QemuImg(dir, "create", "-q", "-f", "qcow2", "a.qcow2", "24M");
        QemuIo(dir, "a.qcow2", "write -P 1 0 5M");
        QemuImg(dir, "create", "-q", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", "b.qcow2");
        QemuIo(dir, "b.qcow2", "write -P 2 2M 1M", "write -P 3 8M 64k");
        QemuImg(dir, "create", "-q", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", "c.qcow2");
        // A sub-cluster write (grown to the job's granule), a zero run, and runs of other layers, each one request.
        QemuIo(dir, "c.qcow2", "write -P 4 0 512", "write -P 5 12M 1M", "write -z 16M 1M", "write -P 6 20M 128k");

        var (theirs, ours) = RunBoth(dir, ["commit", "-p", "-b", "a.qcow2", "c.qcow2"]);
        var ourFigures = Collapsed(Figures(ours)).Select(Percent).ToList();
        // 0, then one rising figure per request (six, each over 1 % here, so none is left out), the last at 100.
        Assert.Equal(7, ourFigures.Count);
        Assert.Equal(0, ourFigures[0]);
        Assert.Equal(100, ourFigures[^1]);
        Assert.True(ourFigures.Zip(ourFigures.Skip(1)).All(pair => pair.First < pair.Second), ours);
        var requests = ourFigures.Zip(ourFigures.Skip(1), (a, b) => b - a).ToList();
        foreach (var figure in Collapsed(Figures(theirs)).Select(Percent))
        {
            Assert.True(IsSubsetSum(requests, figure), $"qemu-img's {figure} is no sum of diskimg's requests ({string.Join(", ", requests)}): {theirs}");
        }
    }

    private static double Percent(string figure) =>
        double.Parse(figure.AsSpan(1, figure.IndexOf('/', StringComparison.Ordinal) - 1), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Whether some of <paramref name="steps"/> add up to <paramref name="target"/> (within the figures' rounding).</summary>
    private static bool IsSubsetSum(List<double> steps, double target) =>
        Enumerable.Range(0, 1 << steps.Count).Any(mask =>
            Math.Abs(steps.Where((_, i) => (mask & (1 << i)) != 0).Sum() - target) < 0.005 * (steps.Count + 1));

    /// <summary>Runs the command in two copies of <paramref name="dir"/>: qemu-img's stdout and diskimg's.</summary>
    private static (string Theirs, string Ours) RunBoth(TempDirectory dir, string[] arguments)
    {
        using var theirsDir = Copy(dir);
        using var oursDir = Copy(dir);
        var theirs = ExternalTool.RunIn(theirsDir.Path, "qemu-img", arguments).EnsureSuccess("qemu-img " + string.Join(' ', arguments));
        string[] absolute = [.. arguments.Select(a => a.EndsWith(".qcow2", StringComparison.Ordinal) ? oursDir.File(a) : a)];
        var ours = Diskimg.Run(absolute).EnsureSuccess("diskimg " + string.Join(' ', arguments));
        return (theirs.StdOut, ours.StdOut);
    }

    private static TempDirectory Copy(TempDirectory dir)
    {
        var copy = new TempDirectory();
        foreach (var file in Directory.GetFiles(dir.Path))
        {
            File.Copy(file, copy.File(Path.GetFileName(file)));
        }

        return copy;
    }

    /// <summary>A qcow2 image (over <paramref name="backing"/>, named relatively) with a few random writes and zero writes.</summary>
    private static void CreateWithWrites(TempDirectory dir, string name, long size, string? backing, Random random, int writes)
    {
        string[] create = backing is null
            ? ["create", "-q", "-f", "qcow2", name, size.ToString(System.Globalization.CultureInfo.InvariantCulture)]
            : ["create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", name, size.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        QemuImg(dir, create);
        var commands = new List<string>();
        for (var i = 0; i < writes; i++)
        {
            var offset = random.NextInt64(0, size / 512) * 512;
            var length = Math.Min(size - offset, random.NextInt64(1, 3 * MiB / 512) * 512);
            commands.Add(i > 0 && random.Next(4) == 0 ? $"write -z {offset} {length}" : $"write -P {random.Next(1, 255)} {offset} {length}");
        }

        QemuIo(dir, name, [.. commands]);
    }

    private static void QemuImg(TempDirectory dir, params string[] arguments) =>
        ExternalTool.RunIn(dir.Path, "qemu-img", arguments).EnsureSuccess("qemu-img " + string.Join(' ', arguments));

    private static void QemuIo(TempDirectory dir, string image, params string[] commands) =>
        ExternalTool.RunIn(dir.Path, "qemu-io", [.. commands.SelectMany(c => new[] { "-c", c }), "-f", "qcow2", image]).EnsureSuccess("qemu-io " + image);

    private static List<string> Figures(string output) => [.. FigurePattern().Matches(output).Select(m => m.Value)];

    private static List<string> Collapsed(List<string> figures) => [.. figures.Where((f, i) => i == 0 || figures[i - 1] != f)];

    [GeneratedRegex(@"\(\d+\.\d\d/100%\)")]
    private static partial Regex FigurePattern();
}
