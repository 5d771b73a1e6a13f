using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// Command lines as scripts write them, run by qemu-img and by diskimg on identical copies of the same files: stdout,
/// stderr (program name and directory normalised) and exit code must be the same. Covers qemu-img's option reading
/// (bundles, attached values, abbreviations, unknown options, file counts), -o help, cache and rate options,
/// convert's -C/--salvage/--bitmaps checks, progress output, size and errno wording, and format probing.
/// </summary>
public class QemuImgCommandLineInteropTests
{
    [Theory]
    // Option reading and parse errors
    [InlineData("info --bogus d.qcow2")]
    [InlineData("info -x d.qcow2")]
    [InlineData("info -Ux d.qcow2")]
    [InlineData("info -f")]
    [InlineData("info --output")]
    [InlineData("info")]
    [InlineData("info d.qcow2 r.img")]
    [InlineData("info --out=json d.qcow2")]
    [InlineData("info -fqcow2 d.qcow2")]
    [InlineData("info d.qcow2 --output=json")]
    [InlineData("info --backing-chain=1 d.qcow2")]
    [InlineData("info -f raw -f qcow2 d.qcow2")]
    [InlineData("create -f foo -f qcow2 n.qcow2 1M")]
    [InlineData("convert -f foo -f qcow2 -O raw -O qcow2 d.qcow2 x.qcow2")]
    [InlineData("create -f qcow2 -o cluster_size=4k, -o help n.qcow2 1M")]
    [InlineData("create -f qcow2 -o ,help n.qcow2 1M")]
    [InlineData("create -f qcow2 -o ,, n.qcow2 1M")]
    [InlineData("create -f qcow2 -o cluster_size=4k,,, n.qcow2 1M")]
    [InlineData("convert -O qcow2 -o , d.qcow2 x.qcow2")]
    [InlineData("amend -o lazy_refcounts=on, d.qcow2")]
    [InlineData("compare d.qcow2")]
    [InlineData("create -f qcow2 e.qcow2 1M extra")]
    [InlineData("resize d.qcow2")]
    [InlineData("map -s 0 -l 512 d.qcow2")]
    [InlineData("check --repair=leaks d.qcow2")]
    [InlineData("check -r bogus d.qcow2")]
    [InlineData("amend d.qcow2")]
    // Cache modes and rate limits
    [InlineData("commit -t none d.qcow2")]
    [InlineData("commit -t bogus o.qcow2")]
    [InlineData("commit -r 1x o.qcow2")]
    [InlineData("check -T bogus d.qcow2")]
    [InlineData("compare -T bogus d.qcow2 d.qcow2")]
    [InlineData("rebase -t bogus -u -b r.img -F raw o.qcow2")]
    [InlineData("convert -r 1M -O qcow2 d.qcow2 x.qcow2")]
    [InlineData("convert -r bogus -O qcow2 d.qcow2 x.qcow2")]
    // -o help and -o ?
    [InlineData("create -f qcow2 -o help")]
    [InlineData("create -f raw -o ?")]
    [InlineData("create -o help")]
    [InlineData("create -f qcow2 -o help x.qcow2")]
    [InlineData("create -f vmdk -o cluster_size=4k,help")]
    [InlineData("create -f vpc -o help")]
    [InlineData("create -f vdi -o help")]
    [InlineData("create -f vhdx -o help")]
    [InlineData("create -f bogus -o help")]
    [InlineData("convert -O qcow2 -o help")]
    [InlineData("convert -o help d.qcow2 x")]
    [InlineData("amend -f qcow2 -o help")]
    [InlineData("amend -o help d.qcow2")]
    [InlineData("amend -f raw -o help")]
    // convert's option combinations
    [InlineData("convert -C -c -O qcow2 d.qcow2 x")]
    [InlineData("convert -C -S 4k d.qcow2 x")]
    [InlineData("convert -C --salvage d.qcow2 x")]
    [InlineData("convert --skip-broken-bitmaps d.qcow2 x")]
    [InlineData("convert --bitmaps d.qcow2 x")]
    [InlineData("convert --bitmaps -O qcow2 d.qcow2 x.qcow2")]
    [InlineData("convert --salvage -O qcow2 d.qcow2 x.qcow2")]
    // Progress
    [InlineData("convert -p -O raw d.qcow2 x.raw")]
    [InlineData("convert -p -O qcow2 o.qcow2 x.qcow2")]
    [InlineData("convert -p -q -O qcow2 o.qcow2 x.qcow2")]
    [InlineData("rebase -p -u -b r.img -F raw o.qcow2")]
    [InlineData("rebase -p -b '' o.qcow2")]
    [InlineData("compare -p d.qcow2 d.qcow2")]
    [InlineData("compare -p d.qcow2 o.qcow2")]
    [InlineData("amend -p -o compat=1.1 d.qcow2")]
    // Sizes, shrinking, errno wording, probing
    [InlineData("resize d.qcow2 1Q")]
    [InlineData("resize d.qcow2 +1Q")]
    [InlineData("resize d.qcow2 -- -64k")]
    [InlineData("resize -f raw r.img -- -64k")]
    [InlineData("create -f qcow2 x.qcow2 1Q")]
    [InlineData("info dir")]
    [InlineData("check dir")]
    [InlineData("create -f qcow2 dir 1M")]
    [InlineData("convert -O raw d.qcow2 dir")]
    [InlineData("convert -O raw d.qcow2 nonexistent/x")]
    [InlineData("create -f raw r.img/x 1M")]
    [InlineData("info q4")]
    [InlineData("create -f qcow2 -b d.qcow2 x.qcow2")]
    [InlineData("create -f qcow2 -b r.img x.qcow2 1M")]
    [InlineData("create -f qcow2 -b missing.qcow2 x.qcow2")]
    public void Matches_qemu_img(string commandLine)
    {
        var theirs = RunIn("qemu-img", commandLine, run => ExternalTool.Run("qemu-img", run));
        var ours = RunIn("diskimg", commandLine, Diskimg.Run);

        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.StdErr, ours.StdErr);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    /// <summary>Builds the same files in a fresh directory, runs the command there, and normalises the output.</summary>
    private static ExternalTool.Result RunIn(string program, string commandLine, Func<string[], ExternalTool.Result> run)
    {
        using var dir = new TempDirectory();
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", dir.File("d.qcow2"), "1M");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", dir.File("d.qcow2"), "-F", "qcow2", dir.File("o.qcow2"));
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 1 0 64k", dir.File("o.qcow2"));
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 2 256k 64k", dir.File("d.qcow2"));
        ExternalTool.QemuImg("create", "-q", "-f", "raw", dir.File("r.img"), "1M");
        Directory.CreateDirectory(dir.File("dir"));
        File.WriteAllBytes(dir.File("q4"), [(byte)'Q', (byte)'F', (byte)'I', 0xfb]);

        var args = commandLine.Split(' ').Select(word => word switch
        {
            "''" => "",
            _ when word.StartsWith('-') || !LooksLikeFile(word) => word,
            _ => dir.File(word),
        }).ToArray();
        var result = run(args);
        string Normalise(string text) => text
            .Replace(dir.Path, "DIR", StringComparison.Ordinal)
            .Replace($"{program}: ", "PROG: ", StringComparison.Ordinal)
            .Replace($"Try '{program} --help'", "Try 'PROG --help'", StringComparison.Ordinal);
        return new ExternalTool.Result(result.ExitCode, Normalise(result.StdOut), Normalise(result.StdErr));
    }

    private static bool LooksLikeFile(string word) =>
        !word.Contains('=', StringComparison.Ordinal) && word.Contains('.', StringComparison.Ordinal) || word is "x" or "dir" or "q4" || word.StartsWith("nonexistent", StringComparison.Ordinal);
}
