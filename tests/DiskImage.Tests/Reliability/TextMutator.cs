namespace DiskImage.Tests.Reliability;

/// <summary>
/// Byte-level mutations of a valid name for the name-parser fuzz tests: characters replaced, inserted, deleted
/// and pieces repeated, after a prefix that stays intact so the mutant still reaches the parser under test.
/// </summary>
internal static class TextMutator
{
    public static string Mutate(string seed, Random random, string alphabet, int keep)
    {
        var text = new System.Text.StringBuilder(seed);
        var edits = random.Next(1, 6);
        for (var e = 0; e < edits; e++)
        {
            var at = random.Next(keep, text.Length + 1);
            switch (random.Next(4))
            {
                case 0 when at < text.Length:
                    text[at] = alphabet[random.Next(alphabet.Length)];
                    break;
                case 1:
                    text.Insert(at, alphabet[random.Next(alphabet.Length)]);
                    break;
                case 2 when at < text.Length:
                    text.Remove(at, Math.Min(random.Next(1, 8), text.Length - at));
                    break;
                default:
                    if (text.Length <= keep)
                    {
                        break;
                    }

                    var start = random.Next(keep, text.Length);
                    var piece = text.ToString(start, Math.Min(random.Next(1, 20), text.Length - start));
                    text.Insert(at, string.Concat(Enumerable.Repeat(piece, random.Next(1, 50))));
                    break;
            }
        }

        return text.ToString();
    }

    /// <summary>Iterations for a name fuzz test: 20 × <c>DISKIMG_FUZZ_ITERATIONS</c> when set, else 3000.</summary>
    public static int Iterations() =>
        int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n * 20 : 3000;
}
