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
            var text = TextMutator.Mutate(s_seeds[i % s_seeds.Length], random, s_alphabet, keep: 0);
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
}
