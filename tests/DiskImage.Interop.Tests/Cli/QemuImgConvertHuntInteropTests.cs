using System.Security.Cryptography;
using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// Command lines of convert, rebase, commit, dd, bench and qemu-img's options before the verb, run by qemu-img and by
/// diskimg on identical copies of the same files: stdout, stderr (program name, directory and bench's timing
/// normalised), exit code and the bytes of every file left in the directory must be the same.
/// </summary>
public partial class QemuImgConvertHuntInteropTests
{
    [Theory]
    // Options before the verb
    [InlineData("-x")]
    [InlineData("--bogus")]
    [InlineData("-q info d.qcow2")]
    [InlineData("-T")]
    [InlineData("--trace")]
    [InlineData("-T foo info d.qcow2")]
    [InlineData("-Tfoo info d.qcow2")]
    [InlineData("-T enable=-foo info d.qcow2")]
    [InlineData("--trace=foo info d.qcow2")]
    [InlineData("--tr foo info d.qcow2")]
    [InlineData("-T foo*,file=t.log info d.qcow2")]
    [InlineData("-T bogus=1 info d.qcow2")]
    [InlineData("-T events=missing info d.qcow2")]
    [InlineData("-T foo")]
    [InlineData("-T '' info d.qcow2")]
    [InlineData("-- info d.qcow2")]
    [InlineData("--")]
    [InlineData("bogus d.qcow2")]
    // bench: counts as qemu_strtoul reads them, sizes as cvtnum, cache and aio modes, a request past the end
    [InlineData("bench -c 0 d.qcow2")]
    [InlineData("bench -c abc d.qcow2")]
    [InlineData("bench -c 1k d.qcow2")]
    [InlineData("bench -c 0x10 -d 010 d.qcow2")]
    [InlineData("bench -c 08 d.qcow2")]
    [InlineData("bench -d -1 -c 10 d.qcow2")]
    [InlineData("bench -d abc -c 10 d.qcow2")]
    [InlineData("bench -s 0 -c 10 d.qcow2")]
    [InlineData("bench -s 2G -c 10 d.qcow2")]
    [InlineData("bench -s 100E -c 10 d.qcow2")]
    [InlineData("bench -S 0 -c 10 d.qcow2")]
    [InlineData("bench -S -1 -c 10 d.qcow2")]
    [InlineData("bench -o 2M -c 10 d.qcow2")]
    [InlineData("bench -o 100E -c 10 d.qcow2")]
    [InlineData("bench -c 2 -s 2M d.qcow2")]
    [InlineData("bench -t bogus -c 10 d.qcow2")]
    [InlineData("bench -n -c 10 d.qcow2")]
    [InlineData("bench -i native -c 10 d.qcow2")]
    [InlineData("bench -i bogus -c 10 d.qcow2")]
    [InlineData("bench -n -t none -c 10 d.qcow2")]
    [InlineData("bench -w --flush-interval=2 -c 10 z.qcow2")]
    [InlineData("bench -w --flush-interval=abc -c 10 z.qcow2")]
    [InlineData("bench -w --pattern=256 -c 10 z.qcow2")]
    [InlineData("bench -w --pattern=0x55 -c 10 z.qcow2")]
    [InlineData("bench -c 10 -w r.img")]
    // convert
    [InlineData("convert -S 100E -O raw d.qcow2 x.raw")]
    [InlineData("convert -r 100E -O qcow2 d.qcow2 x.qcow2")]
    [InlineData("convert -l nosuch -O raw s.qcow2 x.raw")]
    [InlineData("convert -l snapshot.bogus=1 -O raw s.qcow2 x.raw")]
    [InlineData("convert -l snap1 -O raw s.qcow2 d.qcow2 x.raw")]
    [InlineData("convert -O qcow2 -c d.qcow2 x.qcow2")]
    [InlineData("convert -n --target-image-opts d.qcow2 file.filename=r.img")]
    // rebase
    [InlineData("rebase o.qcow2")]
    [InlineData("rebase -u o.qcow2")]
    [InlineData("rebase -b d.qcow2 -F bogus o.qcow2")]
    [InlineData("rebase -u -b d.qcow2 -F bogus o.qcow2")]
    [InlineData("rebase -b nob.qcow2 -F qcow2 o.qcow2")]
    [InlineData("rebase -b d.qcow2 -F qcow2 r.img")]
    // commit
    [InlineData("commit -b '' o.qcow2")]
    [InlineData("commit -r 100E o.qcow2")]
    [InlineData("commit r.img")]
    // dd
    [InlineData("dd bs=100E if=d.qcow2 of=x.raw")]
    [InlineData("dd bs=4k skip=100E if=d.qcow2 of=x.raw")]
    [InlineData("dd if= of=x.raw")]
    [InlineData("dd if=d.qcow2 of=")]
    public void Matches_qemu_img(string commandLine)
    {
        var theirs = RunIn("qemu-img", commandLine, run => ExternalTool.Run("qemu-img", run));
        var ours = RunIn("diskimg", commandLine, Diskimg.Run);

        Assert.Equal(theirs.Output.StdOut, ours.Output.StdOut);
        Assert.Equal(theirs.Output.StdErr, ours.Output.StdErr);
        Assert.Equal(theirs.Output.ExitCode, ours.Output.ExitCode);
        Assert.Equal(theirs.Files, ours.Files);
    }

    [Theory]
    [InlineData("-V")]
    [InlineData("--version")]
    [InlineData("--vers")]
    [InlineData("-V info d.qcow2")]
    [InlineData("-h")]
    [InlineData("--he")]
    [InlineData("-h info")]
    public void Version_and_help_exit_as_qemu_img_does(string commandLine)
    {
        // The text is this program's own (its version, its help); where it goes and the exit code are qemu-img's,
        // and the version line has qemu-img's shape, which scripts read.
        var theirs = RunIn("qemu-img", commandLine, run => ExternalTool.Run("qemu-img", run)).Output;
        var ours = RunIn("diskimg", commandLine, Diskimg.Run).Output;

        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr, ours.StdErr);
        Assert.NotEmpty(ours.StdOut);
        if (commandLine.Contains("-V", StringComparison.Ordinal) || commandLine.Contains("vers", StringComparison.Ordinal))
        {
            Assert.Matches(VersionLine(), theirs.StdOut);
            Assert.Matches(VersionLine(), ours.StdOut);
        }
    }

    [GeneratedRegex(@"^PROG version \d+\.\d+\.\d+")]
    private static partial Regex VersionLine();

    private sealed record Run(ExternalTool.Result Output, string Files);

    /// <summary>Copies the same files into a fresh directory, runs the command there, and normalises the output.</summary>
    private static Run RunIn(string program, string commandLine, Func<string[], ExternalTool.Result> run)
    {
        using var dir = new TempDirectory();
        foreach (var file in Directory.GetFiles(Template.Value.Path))
        {
            File.Copy(file, dir.File(Path.GetFileName(file)));
        }

        var args = commandLine.Split(' ').Select(word => word switch
        {
            "''" => "",
            _ when word.StartsWith("if=", StringComparison.Ordinal) || word.StartsWith("of=", StringComparison.Ordinal) =>
                word.Length == 3 ? word : word[..3] + dir.File(word[3..]),
            _ when word.StartsWith("file.filename=", StringComparison.Ordinal) => "file.filename=" + dir.File(word["file.filename=".Length..]),
            _ when word.StartsWith("-T", StringComparison.Ordinal) || word.StartsWith("--tr", StringComparison.Ordinal) => word,
            _ when word.Contains("file=", StringComparison.Ordinal) || word.Contains("events=", StringComparison.Ordinal) =>
                Regex.Replace(word, "(file|events)=([^,]+)", m => $"{m.Groups[1].Value}={dir.File(m.Groups[2].Value)}"),
            _ when !word.StartsWith('-') && word.Contains('.', StringComparison.Ordinal) && !word.Contains('=', StringComparison.Ordinal) => dir.File(word),
            _ => word,
        }).ToArray();
        var result = run(args);
        string Normalise(string text) => BenchTime().Replace(text
            .Replace(dir.Path, "DIR", StringComparison.Ordinal)
            .Replace($"{program}:", "PROG:", StringComparison.Ordinal)
            .Replace($"{program} version", "PROG version", StringComparison.Ordinal)
            .Replace($"Try '{program} --help'", "Try 'PROG --help'", StringComparison.Ordinal), "Run completed in T seconds");
        var files = string.Join('\n', Directory.GetFiles(dir.Path).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetFileName(f)} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))}"));
        return new Run(new ExternalTool.Result(result.ExitCode, Normalise(result.StdOut), Normalise(result.StdErr)), files);
    }

    [GeneratedRegex(@"Run completed in [0-9.]+ seconds")]
    private static partial Regex BenchTime();

    /// <summary>The inputs, made once by qemu-img and qemu-io; backing files are named relatively so copies keep their chains.</summary>
    private static readonly Lazy<TempDirectory> Template = new(() =>
    {
        var dir = new TempDirectory();
        void Img(params string[] a) => ExternalTool.RunIn(dir.Path, "qemu-img", a).EnsureSuccess("qemu-img " + string.Join(' ', a));
        void Io(params string[] a) => ExternalTool.RunIn(dir.Path, "qemu-io", a).EnsureSuccess("qemu-io " + string.Join(' ', a));
        Img("create", "-q", "-f", "qcow2", "d.qcow2", "1M");
        Io("-f", "qcow2", "-c", "write -P 2 256k 64k", "d.qcow2");
        Img("create", "-q", "-f", "qcow2", "-b", "d.qcow2", "-F", "qcow2", "o.qcow2");
        Io("-f", "qcow2", "-c", "write -P 1 0 64k", "o.qcow2");
        Img("create", "-q", "-f", "raw", "r.img", "1M");
        Io("-f", "raw", "-c", "write -P 3 128k 64k", "r.img");
        Img("create", "-q", "-f", "qcow2", "s.qcow2", "1M");
        Io("-f", "qcow2", "-c", "write -P 5 0 64k", "s.qcow2");
        Img("snapshot", "-c", "snap1", "s.qcow2");
        Img("create", "-q", "-f", "qcow2", "z.qcow2", "1M");
        Img("create", "-q", "-f", "qcow2", "-u", "-b", "missing.qcow2", "-F", "qcow2", "nob.qcow2", "1M");
        return dir;
    });
}
