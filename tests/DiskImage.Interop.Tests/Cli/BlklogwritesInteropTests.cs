using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// The blklogwrites filter with its log node: the same qemu-io command sequences (and qemu-img verbs) run with QEMU and
/// with diskimg in twin directories, and the log each leaves must be byte for byte QEMU's (superblock, entries, data,
/// flush and discard marks), as must stdout, stderr (program name, directory and timings normalised), exit code and the
/// image. Appending goes on from logs QEMU wrote, and from broken ones, refused in QEMU's words.
/// </summary>
public partial class BlklogwritesInteropTests : IClassFixture<BlklogwritesInteropTests.Files>
{
    private const string Node = "\"driver\": \"blklogwrites\", \"file\": {\"driver\": \"file\", \"filename\": \"b.raw\"}, \"log\": {\"driver\": \"file\", \"filename\": \"L\"}";
    private readonly Files _files;

    public BlklogwritesInteropTests(Files files) => _files = files;

    /// <summary>A json: name of the node over b.raw with the log <paramref name="log"/> and further members.</summary>
    private static string Json(string log = "log.bin", string more = "") => "json:{" + Node.Replace("\"L\"", $"\"{log}\"", StringComparison.Ordinal) + more + "}";

    private static readonly string[][] Lines =
    [
        ["io", "-c", "write -P 1 0 4k", "-c", "write -z 8k 1k", "-c", "discard 64k 64k", "-c", "flush", "-c", "write -P 2 1000 100", "-c", "read -P 2 1000 100", Json()],
        ["io", "-c", "write -P 1 0 512", "-c", "write -P 2 512 512", "-c", "write -P 3 1k 512", Json()],
        ["io", "-c", "write -f -P 1 0 512", "-c", "write -P 2 512 512", Json()],
        ["io", "-c", "write -z -u 0 4k", "-c", "aio_write -P 5 8k 4k", "-c", "aio_flush", "-c", "writev -P 6 16k 4k 4k", Json()],
        ["io", "-c", "write 0 512", "-c", "discard 0 64k", "-c", "write 512 512", Json()],
        ["io", "-t", "writeback", "-c", "write 0 512", "-c", "write 512 512", "-c", "flush", "-c", "write 1k 512", Json()],
        ["io", "-c", "read -P 0x33 0 4k", "-c", "flush", Json()],

        // A resize and a failed compressed write reach the node and count as changes: the next flush is logged.
        ["io", "-c", "write 0 512", "-c", "truncate 2M", "-c", "write 0 512", Json()],
        ["io", "-c", "truncate 2M", "-c", "write 0 512", "-c", "length", Json()],
        ["io", "-c", "write 0 512", "-c", "truncate 512k", "-c", "flush", "-c", "length", Json()],
        ["io", "-c", "write -c 0 64k", "-c", "flush", Json()],
        ["io", "-c", "write -c 0 64k", Json()],
        ["io", "-c", "write 0 512", "-c", "write -c 0 64k", "-c", "write 512 512", Json()],
        ["io", "-c", "write -P 1 0 4k", "-c", "write -P 2 100 100", "-c", "write -z 8k 4k", "-c", "discard 64k 64k", "-c", "write -P 3 12k 4k",
            Json(more: ", \"log-sector-size\": 4096, \"log-super-update-interval\": 2")],
        ["io", "-c", "write -P 9 4k 4k", "-c", "write -P 8 0 512", Json("good.log", ", \"log-append\": true")],
        ["io", "-c", "write -P 9 4k 4k", Json("good.log", ", \"log-append\": \"on\", \"log-super-update-interval\": 1")],
        ["io", "-c", "write -P 9 4k 4k", Json("log.bin", ", \"log-append\": true")],
        ["io", "-c", "write 0 512", Json("bad-magic.log", ", \"log-append\": true")],
        ["io", "-c", "write 0 512", Json("bad-version.log", ", \"log-append\": true")],
        ["io", "-c", "write 0 512", Json("bad-sector.log", ", \"log-append\": true")],
        ["io", "-c", "write 0 512", Json("bad-flags.log", ", \"log-append\": true")],
        ["io", "-c", "write 0 512", Json("many.log", ", \"log-append\": true")],
        ["io", "-c", "write 0 512", Json(more: ", \"log-append\": true, \"log-sector-size\": 512")],
        ["io", "--image-opts", "-c", "write -P 4 0 4k", "driver=blklogwrites,file.filename=b.raw,log.filename=log.bin,log-sector-size=1k"],
        ["io", "-c", "open -o driver=blklogwrites,file.filename=b.raw,log.driver=file,log.filename=log.bin", "-c", "write -P 4 0 4k", "-c", "info"],
        ["info", Json()],
        ["info", "--output=json", Json(more: ", \"log-sector-size\": 4096")],
        ["info", Json(more: ", \"log-append\": true, \"log-super-update-interval\": 9")],
        ["info", Json(more: ", \"log-sector-size\": \"4k\"")],
        ["info", "json:{\"driver\": \"blklogwrites\", \"file\": {\"driver\": \"file\", \"filename\": \"b.raw\"}, \"log\": {\"driver\": \"raw\", \"file\": {\"driver\": \"file\", \"filename\": \"log.bin\"}}}"],
        ["info", "--image-opts", "driver=blklogwrites,file.filename=b.raw,log.filename=log.bin"],
        ["info", Json(more: ", \"log-sector-size\": 100")],
        ["info", Json(more: ", \"log-sector-size\": 16")],
        ["info", Json(more: ", \"log-sector-size\": \"16M\"")],
        ["info", Json(more: ", \"log-sector-size\": \"abc\"")],
        ["info", Json(more: ", \"log-super-update-interval\": 0")],
        ["info", Json(more: ", \"log-append\": \"x\"")],
        ["info", Json("missing")],
        ["info", "json:{\"driver\": \"blklogwrites\", \"file\": {\"driver\": \"file\", \"filename\": \"b.raw\"}, \"log\": \"log.bin\"}"],
        ["map", Json()],
        ["check", Json()],
        ["compare", Json(), "b.raw"],
        ["convert", "-O", "raw", Json(), "x.img"],
    ];

    public static TheoryData<string[]> Cases()
    {
        var data = new TheoryData<string[]>();
        foreach (var line in Lines)
        {
            data.Add(line);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_log_and_the_output_are_qemu_s(string[] arguments)
    {
        using var theirs = new TempDirectory();
        using var ours = new TempDirectory();
        _files.CopyTo(theirs);
        _files.CopyTo(ours);
        var expected = Run(theirs.Path, arguments, qemu: true);
        var actual = Run(ours.Path, arguments, qemu: false);
        Assert.Equal(
            (expected.ExitCode, QemuToolOutput.Normalise(expected.StdOut, theirs.Path), QemuToolOutput.Normalise(expected.StdErr, theirs.Path), Listing(theirs)),
            (actual.ExitCode, QemuToolOutput.Normalise(actual.StdOut, ours.Path), QemuToolOutput.Normalise(actual.StdErr, ours.Path), Listing(ours)));
    }

    private static ExternalTool.Result Run(string directory, string[] arguments, bool qemu)
    {
        string[] absolute = [.. arguments.Select(a => FileName().Replace(a, m => Path.Combine(directory, m.Value)))];
        return absolute[0] == "io"
            ? qemu ? ExternalTool.Run("qemu-io", absolute[1..]) : Diskimg.Run(["io", .. absolute[1..]])
            : qemu ? ExternalTool.Run("qemu-img", absolute) : Diskimg.Run(absolute);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![\w/.-])(b\.raw|[\w-]+\.log|log\.bin|missing|x\.img)(?![\w.])")]
    private static partial System.Text.RegularExpressions.Regex FileName();

    private static string Listing(TempDirectory dir) => string.Join(' ', Directory.EnumerateFileSystemEntries(dir.Path)
        .Order(StringComparer.Ordinal)
        .Select(p => Path.GetFileName(p) + ":" + new FileInfo(p).Length + ":" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(p)))[..16]));

    /// <summary>b.raw (1 MiB, its first 64 KiB data), an empty log.bin, a log QEMU wrote (good.log) and broken copies of it.</summary>
    public sealed class Files : IDisposable
    {
        private readonly TempDirectory _template = new();

        public Files()
        {
            var dir = _template;
            ExternalTool.QemuImg("create", "-q", "-f", "raw", dir.File("b.raw"), "1M");
            ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x33 0 64k", dir.File("b.raw"));
            File.WriteAllBytes(dir.File("log.bin"), []);
            File.WriteAllBytes(dir.File("good.log"), []);
            ExternalTool.QemuIo("-c", "write -P 1 0 4k", "-c", "discard 8k 4k", "-c", "write -P 2 12k 512",
                "json:{\"driver\": \"blklogwrites\", \"file\": {\"driver\": \"file\", \"filename\": \"" + dir.File("b.raw") + "\"}, \"log\": {\"driver\": \"file\", \"filename\": \"" + dir.File("good.log") + "\"}}");
            ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x33 0 64k", dir.File("b.raw"));
            var good = File.ReadAllBytes(dir.File("good.log"));
            Mutant(dir, good, "bad-magic.log", b => b[0] ^= 1);
            Mutant(dir, good, "bad-version.log", b => b[8] = 2);
            Mutant(dir, good, "bad-sector.log", b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(24), 100));
            Mutant(dir, good, "bad-flags.log", b => b[512 + 16] = 0x30);
            Mutant(dir, good, "many.log", b => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), 1000));
        }

        private static void Mutant(TempDirectory dir, byte[] good, string name, Action<byte[]> change)
        {
            var bytes = (byte[])good.Clone();
            change(bytes);
            File.WriteAllBytes(dir.File(name), bytes);
        }

        public void CopyTo(TempDirectory dir)
        {
            foreach (var file in Directory.GetFiles(_template.Path))
            {
                File.Copy(file, dir.File(Path.GetFileName(file)));
            }
        }

        public void Dispose() => _template.Dispose();
    }
}
