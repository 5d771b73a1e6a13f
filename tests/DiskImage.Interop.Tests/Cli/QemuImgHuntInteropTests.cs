using System.Security.Cryptography;
using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// Command lines of info, check, map, measure, compare, create, amend, resize, snapshot and bitmap that once differed
/// from qemu-img 7.2, run by both tools in turn in the same directory on identical copies of one set of images:
/// stdout, stderr (program name and directory normalised), exit code and the files left behind (their bytes, where
/// no fresh UUID or time stamp is written) must be the same. Covers option checks made while qemu-img reads its
/// options, size and offset wording, the file protocol's create options, the probed-raw warning of verbs that write,
/// corrupt L2 entries met by block status, and <c>--object</c> wording and help.
/// </summary>
public sealed partial class QemuImgHuntInteropTests(QemuImgHuntInteropTests.Images images) : IClassFixture<QemuImgHuntInteropTests.Images>
{
    [Theory]
    // Checks qemu-img makes as it reads its options, and the file count
    [InlineData("check -r d.qcow2")]
    [InlineData("check --output=foo d.qcow2")]
    [InlineData("map --output=bad d.qcow2")]
    [InlineData("snapshot -l -c x s.qcow2")]
    [InlineData("snapshot -c x -c y s.qcow2")]
    [InlineData("snapshot -l -f raw s.qcow2")]
    [InlineData("snapshot s.qcow2")]
    [InlineData("amend -o lazy_refcounts=on d.qcow2 r.img")]
    [InlineData("amend -f qcow2 -o help d.qcow2 r.img")]
    [InlineData("info --image-opts d.qcow2")]
    // Sizes and offsets
    [InlineData("map --start-offset=-1 d.qcow2")]
    [InlineData("map --max-length=9E d.qcow2")]
    [InlineData("measure --size 9E -O qcow2")]
    [InlineData("measure --size 1.5 -O qcow2")]
    [InlineData("create -f qcow2 n.qcow2 1.5")]
    [InlineData("resize d.qcow2 8E")]
    [InlineData("resize d.qcow2 20E")]
    [InlineData("resize d.qcow2 1E")]
    [InlineData("resize --preallocation=bogus -f raw r.img 2M")]
    [InlineData("resize --preallocation=falloc -f raw r.img 512k")]
    // measure's option list and snapshots
    [InlineData("measure --size 1G -O qcow2 -o bogus=1")]
    [InlineData("measure --size 1G -o cluster_size=4k")]
    [InlineData("measure -O qcow2 -l nosuch s.qcow2")]
    // create: what the format driver refuses comes after the Formatting line; -b and -F over -o
    [InlineData("create -f qcow2 -o backing_file=d.qcow2 n.qcow2")]
    [InlineData("create -f qcow2 -o backing_fmt=qcow2 n.qcow2 1M")]
    [InlineData("create -f qcow2 -b d.qcow2 -F qcow2 -o backing_file=r.img n.qcow2")]
    [InlineData("create -f vmdk -o subformat=bogus n.vmdk 1M")]
    [InlineData("create -f vdi -o preallocation=full n.vdi 1M")]
    [InlineData("create -f vpc -o preallocation=bogus n.vpc 1M")]
    [InlineData("create -f raw -o preallocation=bogus n.img 1M")]
    [InlineData("create -f qcow2 -o nocow=on,extent_size_hint=1M n.qcow2 1M")]
    // amend
    [InlineData("amend -o encrypt.keyslot=1 d.qcow2")]
    [InlineData("amend -o size=2M r.img")]
    // The probed-raw warning of verbs that open for writing
    [InlineData("resize r.img 2M")]
    [InlineData("check -r all r.img")]
    [InlineData("snapshot -c x r.img")]
    [InlineData("bitmap --add r.img n0")]
    // A corrupt L2 entry met by block status
    [InlineData("map corrupt.qcow2")]
    [InlineData("map --output=json corrupt.qcow2")]
    [InlineData("compare corrupt.qcow2 d.qcow2")]
    [InlineData("measure -O qcow2 corrupt.qcow2")]
    // --object
    [InlineData("info --object help")]
    [InlineData("info --object secret,help")]
    [InlineData("info --object bogus,id=x d.qcow2")]
    [InlineData("info --object id=s0,data=x d.qcow2")]
    [InlineData("info --object secret,id=s0 d.qcow2")]
    [InlineData("info --object secret,id=s0,data=abc,format=base64 d.qcow2")]
    [InlineData("info --object secret,id=s0,data=a$b,format=base64 d.qcow2")]
    [InlineData("info --object secret,id=s0,data=x --object secret,id=s0,data=y d.qcow2")]
    public void Matches_qemu_img(string commandLine)
    {
        var theirs = RunIn("qemu-img", commandLine, run => ExternalTool.Run("qemu-img", run));
        var ours = RunIn("diskimg", commandLine, Diskimg.Run);

        Assert.Equal(theirs.Result.StdOut, ours.Result.StdOut);
        Assert.Equal(theirs.Result.StdErr, ours.Result.StdErr);
        Assert.Equal(theirs.Result.ExitCode, ours.Result.ExitCode);
        Assert.Equal(theirs.Files, ours.Files);
    }

    /// <summary>Copies the images into a fresh directory of the same name, runs there, and normalises what was printed.</summary>
    private (ExternalTool.Result Result, string[] Files) RunIn(string program, string commandLine, Func<string[], ExternalTool.Result> run)
    {
        var work = Path.Combine(images.Root, "work");
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }

        Directory.CreateDirectory(work);
        foreach (var file in Directory.GetFiles(images.Source))
        {
            File.Copy(file, Path.Combine(work, Path.GetFileName(file)));
        }

        var args = commandLine.Split(' ').Select(word => IsFileWord(word) ? Path.Combine(work, word) : word).ToArray();
        var result = run(args);
        string Normalise(string text) => BlockNodeName().Replace(text, "#blockN")
            .Replace(work, "DIR", StringComparison.Ordinal)
            .Replace($"{program}: ", "PROG: ", StringComparison.Ordinal)
            .Replace($"Try '{program} --help'", "Try 'PROG --help'", StringComparison.Ordinal);
        var files = Directory.GetFiles(work).Order(StringComparer.Ordinal)
            .Select(f => Path.GetFileName(f) + (HasFreshIdentity(f) ? "" : " " + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))))
            .ToArray();
        return (new ExternalTool.Result(result.ExitCode, Normalise(result.StdOut), Normalise(result.StdErr)), files);
    }

    private static bool IsFileWord(string word) =>
        word is "d.qcow2" or "s.qcow2" or "r.img" or "corrupt.qcow2" || word.StartsWith("n.", StringComparison.Ordinal);

    /// <summary>Formats that write a fresh UUID (or random CID) into every new image: compared by presence only.</summary>
    private static bool HasFreshIdentity(string path) => Path.GetExtension(path) is ".vdi" or ".vpc" or ".vhdx" or ".vmdk";

    /// <summary>QEMU names anonymous nodes with a counter and a random suffix.</summary>
    [GeneratedRegex(@"#block\d+")]
    private static partial Regex BlockNodeName();

    /// <summary>The images every command line starts from, made once by qemu-img and qemu-io.</summary>
    public sealed class Images : IDisposable
    {
        private readonly TempDirectory _dir = new();

        public Images()
        {
            Directory.CreateDirectory(Source);
            string In(string name) => Path.Combine(Source, name);
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", In("d.qcow2"), "1M");
            ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 2 256k 64k", In("d.qcow2"));
            ExternalTool.QemuImg("create", "-q", "-f", "raw", In("r.img"), "1M");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", In("s.qcow2"), "1M");
            ExternalTool.QemuImg("snapshot", "-c", "snap1", In("s.qcow2"));
            // A data cluster whose L2 entry points half a kilobyte off the cluster grid.
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", In("corrupt.qcow2"), "1M");
            ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 7 0 64k", In("corrupt.qcow2"));
            using var file = File.OpenWrite(In("corrupt.qcow2"));
            file.Position = 0x40000; // the only L2 table of a fresh 64 KiB-cluster image: header, refcounts, L1, then L2
            file.Write([0x80, 0, 0, 0, 0, 0x05, 0x02, 0]);
        }

        public string Root => _dir.Path;

        public string Source => _dir.File("images");

        public void Dispose() => _dir.Dispose();
    }
}
