using DiskImage.Formats;
using DiskImage.IO.Blkdebug;
using DiskImage.IO.Blkverify;
using DiskImage.Nbd.Client;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Reliability;

/// <summary>
/// Mutation fuzzing of the other hand-written name parsers: qemu's legacy <c>nbd:</c> names,
/// <c>blkdebug:CONFIG:PATH</c> and <c>blkverify:RAW:TEST</c> names. Every mutant must parse or fail with one
/// <see cref="DiskImageException"/> whose message is a single line, never anything else.
/// </summary>
public class LegacyNameFuzzTests
{
    private const string Alphabet = ":[]/.=,exportnamuix0123456789 \u00e9\0";

    [Fact]
    public void Mutated_legacy_nbd_names_fail_only_with_diskimage_errors()
    {
        string[] seeds =
        [
            "nbd:unix:/run/s.sock",
            "nbd:unix:/run/s.sock:exportname=disk",
            "nbd:localhost:10809",
            "nbd:[::1]:10810:exportname=a:b",
            "nbd:192.0.2.1:1:exportname=",
        ];
        var failures = Fuzz(seeds, 20261201, "nbd:".Length, name => NbdLegacyName.Parse(name));
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public void Mutated_blkdebug_names_fail_only_with_diskimage_errors()
    {
        using var dir = new TempDirectory();
        // An existing rules file takes the refusal path, a missing one the read error.
        var rules = dir.File("rules.cfg");
        File.WriteAllText(rules, "");
        string[] seeds =
        [
            "blkdebug::/x/t.qcow2",
            "blkdebug::t.qcow2",
            "blkdebug:t.qcow2",
            "blkdebug:/nonexistent/rules.cfg:t.qcow2",
            $"blkdebug:{rules}:/x/t.qcow2",
        ];
        var failures = Fuzz(seeds, 20261202, "blkdebug:".Length, name =>
        {
            // As the storage layer does: only names it recognises as blkdebug reach the parser.
            if (BlkdebugName.IsBlkdebug(name))
            {
                _ = BlkdebugName.ImagePath(name);
            }
        });
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public void Mutated_blkverify_names_open_or_fail_only_with_diskimage_errors()
    {
        using var dir = new TempDirectory();
        // Two equal files and one that differs: mutants that keep the pair open and read through the node; the
        // others name missing files, an empty image or no second part.
        File.WriteAllBytes(dir.File("a"), new byte[4096]);
        File.WriteAllBytes(dir.File("b"), new byte[4096]);
        File.WriteAllBytes(dir.File("c"), [.. Enumerable.Range(0, 4096).Select(i => (byte)i)]);
        string[] seeds =
        [
            $"blkverify:{dir.File("a")}:{dir.File("b")}",
            $"blkverify:{dir.File("a")}:{dir.File("c")}",
            $"blkverify:{dir.File("a")}",
            "blkverify::",
            $"blkverify:{dir.File("b")}:blkverify:{dir.File("a")}:{dir.File("b")}",
        ];
        var failures = Fuzz(seeds, 20261203, "blkverify:".Length, name =>
        {
            _ = BlkverifyName.Parse(name);
            try
            {
                using var image = ImageFormatRegistry.Default.Open(name, null, new ImageOpenOptions { ReadOnly = true });
                image.Read(0, new byte[(int)Math.Min(image.Length, 4096)]);
            }
            catch (VerificationMismatchException e) when (e.Message.StartsWith("blkverify: read offset=", StringComparison.Ordinal) && !e.Message.Contains('\n', StringComparison.Ordinal))
            {
                // The children differ: the one outcome besides a clean open that is not a DiskImageException.
            }
        });
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private static List<string> Fuzz(string[] seeds, int seed, int keep, Action<string> parse)
    {
        var random = new Random(seed);
        var iterations = TextMutator.Iterations();
        var failures = new List<string>();
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var name = TextMutator.Mutate(seeds[i % seeds.Length], random, Alphabet, keep);
            try
            {
                parse(name);
            }
            catch (DiskImageException e) when (e.Message.Length > 0 && !e.Message.Contains('\n', StringComparison.Ordinal))
            {
            }
#pragma warning disable CA1031 // Anything else is the finding being looked for.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures.Add($"{name}: {e.GetType().Name}: {e.Message}");
            }
        }

        return failures;
    }
}
