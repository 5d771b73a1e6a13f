using DiskImage.IO.Blkdebug;

namespace DiskImage.Tests.Reliability;

/// <summary>
/// Mutation fuzzing of blkdebug rules files: valid files with characters flipped, inserted, deleted and repeated
/// must give rules or fail with a <see cref="DiskImageException"/>, never anything else.
/// </summary>
public class BlkdebugRulesFuzzTests
{
    private static readonly string[] s_seeds =
    [
        "[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nonce =\"off\"\n",
        "# c\n[set-state \"a\"]\nevent = \"write_aio\"\nstate = \"1\"\nnew_state = \"0x2\"\n\n[inject-error \"b\"]\nevent = \"write_aio\"\nstate = \"2\"\nsector = \"-1\"\niotype = \"write-zeroes\"\nimmediately = \"y\"\n",
        "[inject-error]\nevent = \"none\"\nerrno = \"\"\n",
    ];

    private static readonly string s_alphabet = "[]\"=# \n\t-x0123456789abcdefy_";

    [Fact]
    public void Mutated_rules_files_fail_only_with_diskimage_errors()
    {
        var random = new Random(20261201);
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n * 20 : 3000;
        var failures = new List<string>();
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var text = Mutate(s_seeds[i % s_seeds.Length], random);
            try
            {
                _ = BlkdebugRules.ParseConfigText(text);
            }
            catch (DiskImageException)
            {
            }
#pragma warning disable CA1031 // Anything else is the finding being looked for.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures.Add($"{text}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private static string Mutate(string seed, Random random)
    {
        var text = new System.Text.StringBuilder(seed);
        var edits = random.Next(1, 6);
        for (var e = 0; e < edits; e++)
        {
            var at = random.Next(0, text.Length + 1);
            switch (random.Next(4))
            {
                case 0 when at < text.Length:
                    text[at] = s_alphabet[random.Next(s_alphabet.Length)];
                    break;
                case 1:
                    text.Insert(at, s_alphabet[random.Next(s_alphabet.Length)]);
                    break;
                case 2 when at < text.Length:
                    text.Remove(at, Math.Min(random.Next(1, 8), text.Length - at));
                    break;
                default:
                    var start = random.Next(0, Math.Max(1, text.Length));
                    var piece = text.ToString(start, Math.Min(random.Next(1, 30), text.Length - start));
                    text.Insert(at, string.Concat(Enumerable.Repeat(piece, random.Next(1, 50))));
                    break;
            }
        }

        return text.ToString();
    }
}
