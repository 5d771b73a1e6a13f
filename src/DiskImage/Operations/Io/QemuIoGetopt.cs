namespace DiskImage.Operations.Io;

/// <summary>One option getopt returned: its letter and value, or <c>'?'</c> after a complaint.</summary>
internal readonly record struct QemuIoOption(char Letter, string? Value);

/// <summary>
/// Splits a command's words as glibc's getopt does for qemu-io: options may come before or after the
/// operands (they are permuted), letters group (<c>-qv</c>), a value is the rest of the word or the next
/// word, and <c>--</c> ends the options. A negative number is therefore an option, as in qemu-io.
/// </summary>
internal static class QemuIoGetopt
{
    /// <summary>
    /// Options in order and the operands. An unknown letter or a missing value adds the getopt
    /// complaint to <paramref name="output"/> (standard error, named after the command) and a <c>'?'</c>
    /// entry, after which nothing more is parsed.
    /// </summary>
    /// <param name="words">The command's words, the command name first.</param>
    /// <param name="spec">getopt's option string: letters, each followed by ':' when it takes a value.</param>
    /// <param name="output">Where complaints about unknown options or missing values are printed.</param>
    public static (List<QemuIoOption> Options, List<string> Operands) Parse(string[] words, string spec, QemuIoOutput output)
    {
        var options = new List<QemuIoOption>();
        var operands = new List<string>();
        var command = words[0];
        for (var i = 1; i < words.Length; i++)
        {
            var word = words[i];
            if (word == "--")
            {
                operands.AddRange(words[(i + 1)..]);
                break;
            }

            if (word.Length < 2 || word[0] != '-')
            {
                operands.Add(word);
                continue;
            }

            for (var j = 1; j < word.Length; j++)
            {
                var letter = word[j];
                var at = letter == ':' ? -1 : spec.IndexOf(letter, StringComparison.Ordinal);
                if (at < 0)
                {
                    output.Diagnostic($"{command}: invalid option -- '{letter}'");
                    options.Add(new QemuIoOption('?', null));
                    return (options, operands);
                }

                if (at + 1 >= spec.Length || spec[at + 1] != ':')
                {
                    options.Add(new QemuIoOption(letter, null));
                    continue;
                }

                string? value = j + 1 < word.Length ? word[(j + 1)..] : i + 1 < words.Length ? words[++i] : null;
                if (value is null)
                {
                    output.Diagnostic($"{command}: option requires an argument -- '{letter}'");
                    options.Add(new QemuIoOption('?', null));
                    return (options, operands);
                }

                options.Add(new QemuIoOption(letter, value));
                break;
            }
        }

        return (options, operands);
    }
}
