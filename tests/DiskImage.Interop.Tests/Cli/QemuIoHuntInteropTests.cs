using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// qemu-io command lines as scripts write them, right and wrong (numbers in every spelling, help for aliases, the
/// order in which outstanding aio requests report, snapshot and read-only modes together): each runs with qemu-io
/// on one copy of an image and with <c>diskimg io</c> on an identical copy; stdout, stderr (program name and
/// directory normalised), exit code and the images left behind must match.
/// </summary>
public partial class QemuIoHuntInteropTests
{
    /// <summary>Offsets and lengths in QEMU's size syntax, each read, checked by alloc and used as a new size.</summary>
    public static TheoryData<string> Numbers => new()
    {
        "+512", " 512", "0x200", "0x1k", "0x1K", "0x1b", "0x1.5k", "00x10", "0x", "0x1kjunk",
        "1.", "1.k", "0.5k", "1.0", "1.5", "1.5b", "1e3", "1.e0", "1.5e3", "1.0005k",
        "-0", "-1", "99999999999999999999", "99999999999999999999k", "0xffffffffffffffffff", "8E", "16E", "1kb", "k", "512B",
    };

    [Theory]
    [MemberData(nameof(Numbers))]
    public void Numbers_are_read_as_qemu_io_reads_them(string number) =>
        AssertSameAsQemuIo("raw", ["-f", "raw", "-c", $"read 0 {number}", "-c", $"alloc {number}", "-c", $"truncate {number}", "-c", "length", "IMG"]);

    /// <summary>
    /// Generated words over the characters QEMU's size parser gives meaning to (digits, hex, suffixes, point, signs,
    /// white space), 400 in one run as <c>alloc</c> offsets: each is a parse error or a number, as for qemu-io.
    /// </summary>
    [Fact]
    public void Generated_numbers_are_read_as_qemu_io_reads_them()
    {
        const string alphabet = "0123456789abcdefxXkKmMgGtTpPeEbB.+-\t";
        var random = new Random(20261203);
        var arguments = new List<string> { "-f", "raw" };
        for (var i = 0; i < 400; i++)
        {
            var word = new string([.. Enumerable.Range(0, random.Next(1, 9)).Select(_ => alphabet[random.Next(alphabet.Length)])]);
            // A leading digit makes most words numbers or near misses rather than plain junk.
            arguments.AddRange(["-c", $"alloc {(random.Next(3) == 0 ? word : random.Next(10) + word)}"]);
        }

        AssertSameAsQemuIo("raw", [.. arguments, "IMG"]);
    }

    [Fact]
    public void Help_names_a_command_as_it_was_asked_for_and_fails_for_an_unknown_one() =>
        AssertSameAsQemuIo("qcow2", ["-c", "help q", "-c", "help c", "-c", "help l", "-c", "help t", "-c", "help truncate", "-c", "help ?",
            "-c", "help map", "-c", "help f", "IMG"]);

    [Theory]
    [InlineData("help bogus")]
    [InlineData("help h")]
    public void Help_for_an_unknown_command_fails_the_run(string command) => AssertSameAsQemuIo("qcow2", ["-c", command, "IMG"]);

    /// <summary>
    /// With <c>-c</c>, an aio request reports when a later command waits for it (aio_flush, close, exit), not at once:
    /// after commands that do no I/O. The sequence is one whose output QEMU repeats from run to run (where a command
    /// doing I/O of its own lets a request complete, QEMU's timing decides).
    /// </summary>
    [Theory]
    [InlineData("raw")]
    [InlineData("qcow2")]
    public void Aio_requests_report_when_the_event_loop_next_runs(string kind) =>
        AssertSameAsQemuIo(kind, [.. KindFormat(kind), "-c", "aio_write -P 7 0 4k", "-c", "length", "-c", "help length", "-c", "aio_flush",
            "-c", "aio_read -P 0x11 32k 4k", "-c", "length", "-c", "info", "-c", "aio_flush", "-c", "aio_read -P 9 32k 512",
            "-c", "l", "-c", "aio_write -P 3 512k 512", "-c", "length", "IMG"]);

    [Fact]
    public void An_aio_request_outstanding_at_close_reports_before_the_image_closes() =>
        AssertSameAsQemuIo("qcow2", ["-c", "aio_write -P 4 0 512", "-c", "info", "-c", "close", "-c", "open IMG", "-c", "aio_read -P 4 0 512", "-c", "quit", "-c", "length", "IMG"]);

    /// <summary><c>-s</c> with <c>-r</c> makes a read-only overlay; with <c>-U</c> only the image below it is shared.</summary>
    [Theory]
    [InlineData("-r")]
    [InlineData("-U")]
    [InlineData("-rU")]
    public void Snapshot_mode_combines_with_read_only_and_force_share(string option) =>
        AssertSameAsQemuIo("qcow2", [option, "-s", "-c", "read -P 0x11 0 4k", "-c", "write -P 5 0 512", "-c", "read -P 5 0 512", "IMG"]);

    [Fact]
    public void Open_refuses_native_aio_without_direct_io_once_the_file_opened() =>
        AssertSameAsQemuIo("qcow2", ["-c", "close", "-c", "open -k DIR/missing", "-c", "open -k IMG", "-c", "open -i native IMG",
            "-c", "open -k -o driver=qcow2,file.filename=IMG", "-c", "open -r IMG", "-c", "open -k IMG", "-c", "read -P 0x11 0 4k", "IMG"]);

    /// <summary><c>reopen -o</c> with the block layer's own options and with options no node takes.</summary>
    [Theory]
    [InlineData("raw")]
    [InlineData("qcow2")]
    public void Reopen_checks_block_layer_options_and_refuses_unknown_ones(string kind) =>
        AssertSameAsQemuIo(kind, [.. KindFormat(kind), "-c", "reopen -o bogus=1", "-c", "reopen -o detect-zeroes=bad", "-c", "reopen -o discard=bad",
            "-c", "reopen -o detect-zeroes=on,discard=unmap", "-c", "reopen -o file.bogus=1", "-c", "reopen -o force-share=on",
            "-c", "reopen -o force-share=off,auto-read-only=on", "-c", "read -P 0x11 0 4k", "IMG"]);

    /// <summary>qemu-io's own option loop: getopt's complaints, and options acted on where they stand.</summary>
    public static TheoryData<string[]> CommandLines => new()
    {
        new[] { "-x", "-c", "length", "IMG" },
        new[] { "-q", "IMG" },
        new[] { "--bogus", "IMG" },
        new[] { "--bogus=1", "IMG" },
        new[] { "--c", "length", "IMG" },
        new[] { "--read-only=1", "IMG" },
        new[] { "--cm", "length", "--for", "qcow2", "--read", "IMG" },
        new[] { "-c", "length", "IMG", "-c", "info" },
        new[] { "-c", "length", "IMG", "IMG" },
        new[] { "-c" },
        new[] { "IMG", "-f" },
        new[] { "--cmd" },
        new[] { "-t", "-c", "length", "IMG" },
        new[] { "-d", "-c", "IMG" },
        new[] { "-i", "-c", "IMG" },
        new[] { "-tnone", "-fqcow2", "-rc", "read -P 0x11 0 1k", "IMG" },
        new[] { "-t", "bogus", "-x", "IMG" },
        new[] { "-x", "-t", "bogus", "IMG" },
        new[] { "-c", "length", "--", "IMG" },
        new[] { "-c", "", "-c", "   ", "--cmd=", "-c", "-x", "--cmd", "--", "IMG" },
        new[] { "-T", "-c", "length", "IMG" },
        new[] { "-T", "foo*", "-T", "-bar", "-T", "enable=baz", "-c", "length", "IMG" },
        new[] { "-T", "bogus=1", "-c", "length", "IMG" },
        new[] { "-T", "events=/nonexistent/x", "-c", "length", "IMG" },
        new[] { "--trace", "enable=x,events=/nonexistent/x", "-x", "IMG" },
    };

    [Theory]
    [MemberData(nameof(CommandLines))]
    public void Options_are_read_as_qemu_io_reads_them(string[] arguments) => AssertSameAsQemuIo("qcow2", arguments, compareUsage: false);

    private static string[] KindFormat(string kind) => kind == "raw" ? ["-f", "raw"] : [];

    /// <summary>Runs <paramref name="arguments"/> (IMG standing for the image) with both tools on twin copies of a <paramref name="kind"/> image.</summary>
    private static void AssertSameAsQemuIo(string kind, string[] arguments, bool compareUsage = true)
    {
        using var dir = new TempDirectory();
        var results = new List<(ExternalTool.Result Result, string Side)>();
        // One image, copied: a luks header's salts and iteration counts differ between two creations.
        var template = dir.File("template");
        Prepare(kind, template);
        foreach (var side in new[] { "q", "d" })
        {
            var sideDir = dir.File(side);
            Directory.CreateDirectory(sideDir);
            var image = Path.Combine(sideDir, "img");
            File.Copy(template, image);
            var resolved = arguments.Select(a => a.Replace("IMG", image, StringComparison.Ordinal).Replace("DIR", sideDir, StringComparison.Ordinal)).ToArray();
            results.Add((side == "q" ? ExternalTool.Run("qemu-io", resolved) : Diskimg.Run(["io", .. resolved]), sideDir));
        }

        var (theirs, theirDir) = results[0];
        var (ours, ourDir) = results[1];
        if (compareUsage || !theirs.StdOut.StartsWith("Usage: ", StringComparison.Ordinal))
        {
            Assert.Equal(Normalise(theirs.StdOut, theirDir), Normalise(ours.StdOut, ourDir));
        }
        else
        {
            // qemu-io's usage text is QEMU's prose; ours says the same in its own words.
            Assert.StartsWith("Usage: ", ours.StdOut, StringComparison.Ordinal);
        }

        Assert.Equal(Normalise(theirs.StdErr, theirDir), Normalise(ours.StdErr, ourDir));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        var theirImage = Path.Combine(theirDir, "img");
        var ourImage = Path.Combine(ourDir, "img");
        if (!File.ReadAllBytes(theirImage).AsSpan().SequenceEqual(File.ReadAllBytes(ourImage)))
        {
            // Different bytes may still hold the same disk (an encrypted or corrupt image has to match byte for byte).
            Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-U", theirImage, ourImage).ExitCode);
        }

        Assert.Equal(ExternalTool.Run("qemu-img", "check", "-U", theirImage).ExitCode, ExternalTool.Run("qemu-img", "check", "-U", ourImage).ExitCode);
    }

    private static void Prepare(string kind, string image)
    {
        switch (kind)
        {
            case "raw":
                ExternalTool.QemuImg("create", "-f", "raw", image, "1M");
                ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x11 0 64k", image);
                break;
            case "qcow2":
                ExternalTool.QemuImg("create", "-f", "qcow2", image, "4M");
                ExternalTool.QemuIo("-c", "write -P 0x11 0 64k", "-c", "write -P 0x22 1M 4k", image);
                break;
            case "luks":
                ExternalTool.QemuImg("create", "-f", "luks", "--object", "secret,id=sec0,data=abc", "-o", "key-secret=sec0,iter-time=10", image, "1M");
                break;
            case "qcow2-luks":
                ExternalTool.QemuImg("create", "-f", "qcow2", "--object", "secret,id=sec0,data=abc", "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", image, "1M");
                break;
            case "qcow2-l1-unaligned":
                // The first L1 entry points 512 bytes past its L2 table (QEMU's "L2 table offset ... unaligned").
                ExternalTool.QemuImg("create", "-f", "qcow2", image, "4M");
                ExternalTool.QemuIo("-c", "write -P 0x11 0 64k", image);
                using (var file = File.Open(image, FileMode.Open, FileAccess.ReadWrite))
                {
                    Span<byte> bytes = stackalloc byte[8];
                    file.Position = 40;
                    file.ReadExactly(bytes);
                    file.Position = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes);
                    file.ReadExactly(bytes);
                    var entry = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes);
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, entry + 0x200);
                    file.Position -= 8;
                    file.Write(bytes);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    private static string Normalise(string text, string dir) =>
        ProgramNameWithLocation().Replace(MachineReport().Replace(QemuToolOutput.Normalise(
            RandomNames().Replace(text.Replace(dir, "DIR", StringComparison.Ordinal), m => m.Groups[1].Success ? $"#block{m.Groups[1].Value}RR'" : "/vl.XXXXXX")),
            "$1,$2,TIME"), m => m.Value.EndsWith(' ') ? "PROG: " : "PROG:");

    /// <summary>
    /// QEMU's random parts of names: the two digits its id generator appends to a node's counter (<c>#block1NN</c>), and
    /// the six characters of a <c>-s</c> overlay's temporary file (<c>vl.XXXXXX</c>).
    /// </summary>
    [GeneratedRegex(@"#block(\d+)\d\d'|/vl\.[A-Za-z0-9]{6}")]
    private static partial Regex RandomNames();

    /// <summary>
    /// The program name where QEMU's own normalisation misses it: before a file location (<c>qemu-io:FILE:LINE: ...</c>),
    /// and as getopt prints it, the path the tool was started by.
    /// </summary>
    [GeneratedRegex(@"(?m)^(\S*/)?(qemu-io|diskimg):(?=\S)|^\S*/qemu-io: ")]
    private static partial Regex ProgramNameWithLocation();

    /// <summary>The timing fields of <c>-C</c>'s machine-readable line.</summary>
    [GeneratedRegex(@"(?m)^(\d+),(\d+),[0-9:.]+,[0-9.inf]+,[0-9.inf]+$")]
    private static partial Regex MachineReport();
}
