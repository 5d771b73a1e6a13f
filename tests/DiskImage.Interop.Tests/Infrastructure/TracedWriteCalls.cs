using System.Globalization;
using System.Text.RegularExpressions;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>
/// The writing system calls of one traced diskimg run, each a crash point, named by strace's own count (the
/// N-th call of that name in that thread), so <c>-e inject=NAME:signal=KILL:when=N</c> kills the process on entering it.
/// Sampling them (first, last, each metadata write, a few data writes) keeps a kill test fast where killing at every call
/// would repeat many equal cases.
/// </summary>
public static partial class TracedWriteCalls
{
    /// <summary>The calls that change a file.</summary>
    public const string WritingCalls = "pwrite64,pwritev,pwritev2,fallocate,ftruncate,rename,renameat,renameat2";

    /// <summary>One writing call of the traced run: its name, its number among the calls of that name, its file and offset.</summary>
    public sealed record Call(int Index, string Name, int Ordinal, int Fd, long? Offset)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name} #{Ordinal} (fd {Fd}, offset {Offset?.ToString(CultureInfo.InvariantCulture) ?? "-"})");
    }

    /// <summary>Runs diskimg under strace to completion and returns its writing calls, in order.</summary>
    public static List<Call> Trace(string strace, string workDirectory, params string[] arguments)
    {
        var log = Path.Combine(workDirectory, "kill-points.trace");
        var run = ExternalTool.Run(strace, ["-f", "-qq", "-o", log, "-e", $"trace={WritingCalls}", .. Command(), .. arguments]);
        Assert.True(run.ExitCode == 0, $"the traced run failed: {run.StdErr}");
        var calls = Parse(File.ReadAllLines(log));
        File.Delete(log);
        return calls;
    }

    /// <summary>strace's <c>-f</c> lines (<c>TID name(fd, ..., offset) = result</c>), numbered as strace counts them.</summary>
    public static List<Call> Parse(IEnumerable<string> lines)
    {
        var counts = new Dictionary<(int Tid, string Name), int>();
        var calls = new List<Call>();
        foreach (var line in lines)
        {
            var match = CallLine().Match(line);
            if (!match.Success)
            {
                continue;
            }

            var tid = int.Parse(match.Groups["tid"].Value, CultureInfo.InvariantCulture);
            var name = match.Groups["name"].Value;
            var ordinal = counts[(tid, name)] = counts.GetValueOrDefault((tid, name)) + 1;
            var fd = int.Parse(match.Groups["fd"].Value, CultureInfo.InvariantCulture);
            long? offset = name is "pwrite64" or "pwritev" && LastArgument().Match(line) is { Success: true } last
                ? long.Parse(last.Groups[1].Value, CultureInfo.InvariantCulture) : null;
            calls.Add(new Call(calls.Count, name, ordinal, fd, offset));
        }

        return calls;
    }

    /// <summary>
    /// The first and last calls, every write of the image's file below <paramref name="dataStart"/> (its metadata), the
    /// first size change of each kind, and the first, middle and last data write.
    /// </summary>
    public static List<Call> Sample(List<Call> calls, int imageFd, long dataStart)
    {
        var image = calls.Where(c => c.Fd == imageFd).ToList();
        var data = image.Where(c => c.Offset >= dataStart).ToList();
        var chosen = new List<Call> { calls[0], calls[^1] };
        chosen.AddRange(image.Where(c => c.Offset < dataStart));
        chosen.AddRange(image.Where(c => c.Name == "ftruncate").Take(1));
        chosen.AddRange(image.Where(c => c.Name == "fallocate").Take(1));
        if (data.Count > 0)
        {
            chosen.AddRange([data[0], data[data.Count / 2], data[^1]]);
        }

        return [.. chosen.Distinct().OrderBy(c => c.Index)];
    }

    /// <summary>Runs diskimg under strace, killed on entering <paramref name="point"/>.</summary>
    public static ExternalTool.Result RunKilledAt(string strace, Call point, params string[] arguments) =>
        ExternalTool.Run(strace, ["-f", "-qq", "-o", "/dev/null", "-e", $"trace={point.Name}",
            "-e", string.Create(CultureInfo.InvariantCulture, $"inject={point.Name}:signal=KILL:when={point.Ordinal}"), .. Command(), .. arguments]);

    /// <summary>The built diskimg as a command line of its own.</summary>
    public static string[] Command() =>
    [
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet",
        Path.Combine(AppContext.BaseDirectory, "diskimg.dll"),
    ];

    [GeneratedRegex(@"^(?<tid>\d+) +(?<name>\w+)\((?<fd>\d+),")]
    private static partial Regex CallLine();

    [GeneratedRegex(@", (\d+)\) += ")]
    private static partial Regex LastArgument();
}
