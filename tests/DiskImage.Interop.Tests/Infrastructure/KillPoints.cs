using System.Text.RegularExpressions;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>
/// The crash points of a kill sweep: the values of N for strace's <c>inject=...:signal=KILL:when=N</c>, which kills a
/// command on entering the first writing system call that is the N-th of its own name in its own thread. With
/// <c>DISKIMG_FULL_SWEEPS=1</c> every N, 1, 2, ... until a run completes. Otherwise a deterministic sample, chosen from one
/// traced run of the command: for each N the traced run tells which call the kill lands on, and so the boundary it
/// falls at (the kinds of the call before, done, and of the call killed; a kind is the call, its length and whether its
/// bytes start as one byte repeated, which tells a pattern or zeroed buffer from a table of offsets or a header). The
/// sample holds the first and the last N, the first and the last N of each kind of boundary and the N after each of
/// those, and a seeded random few; so the points just before and just after each kind of metadata write, data write
/// and distinct system call stay crash points. After the sample N goes on past the traced run's last point until a
/// run completes, as in the full sweep.
/// </summary>
public sealed partial class KillPoints
{
    public const string FullSweepVariable = "DISKIMG_FULL_SWEEPS";

    private const int RandomPoints = 4;

    private readonly int[] _sample;

    private KillPoints(IReadOnlyList<(string Thread, string Name, string Kind)> calls, int seed)
    {
        // The call each N lands on: the first whose ordinal among its thread's calls of that name is N.
        var ordinals = new Dictionary<(string, string), int>();
        var landing = new Dictionary<int, int>();
        for (var i = 0; i < calls.Count; i++)
        {
            var key = (calls[i].Thread, calls[i].Name);
            var ordinal = ordinals[key] = ordinals.GetValueOrDefault(key) + 1;
            landing.TryAdd(ordinal, i);
        }

        Sweep = landing.Count;
        _sample = Sample([.. Enumerable.Range(1, Sweep).Select(n => Boundary(calls, landing[n]))], seed);
    }

    /// <summary>True when every N is a crash point (<c>DISKIMG_FULL_SWEEPS=1</c>).</summary>
    public static bool FullSweep => Environment.GetEnvironmentVariable(FullSweepVariable) == "1";

    /// <summary>How many N kill the traced run: the full sweep's crash points.</summary>
    public int Sweep { get; }

    /// <summary>How many of <see cref="Points"/> kill the traced run (all of them in a full sweep).</summary>
    public int PointsOnCalls => FullSweep ? Sweep : _sample.Length;

    /// <summary>
    /// Runs <paramref name="command"/> once under strace without killing it (on a copy the caller gives it, since it
    /// writes) and takes its writing calls as the ground for the sample.
    /// </summary>
    public static KillPoints Trace(string strace, string writingCalls, IReadOnlyList<string> command, int seed)
    {
        var log = Path.GetTempFileName();
        try
        {
            ExternalTool.Run(strace, ["-f", "-qq", "-s", "8", "-o", log, "-e", $"trace={writingCalls}", .. command])
                .EnsureSuccess("strace " + string.Join(' ', command));
            return new KillPoints([.. File.ReadLines(log).Select(Parse).OfType<(string, string, string)>()], seed);
        }
        finally
        {
            File.Delete(log);
        }
    }

    /// <summary>The crash points in increasing order; the caller stops when a run completes.</summary>
    public IEnumerable<int> Points(int limit) =>
        FullSweep
            ? Enumerable.Range(1, limit)
            : _sample.Where(n => n <= limit).Concat(Enumerable.Range(Sweep + 1, Math.Max(0, limit - Sweep)));

    private static string Boundary(IReadOnlyList<(string Thread, string Name, string Kind)> calls, int killed) =>
        (killed == 0 ? "start" : calls[killed - 1].Kind) + " | " + calls[killed].Kind;

    private static int[] Sample(string[] boundaries, int seed)
    {
        var count = boundaries.Length;
        if (count == 0)
        {
            return [];
        }

        var points = new SortedSet<int> { 1, count };
        var first = new Dictionary<string, int>();
        var last = new Dictionary<string, int>();
        for (var n = 1; n <= count; n++)
        {
            first.TryAdd(boundaries[n - 1], n);
            last[boundaries[n - 1]] = n;
        }

        points.UnionWith(first.Values);
        points.UnionWith(last.Values);

        // And the point after each: a write of the same kind as its neighbours (an L1 entry among L2 entries) is then
        // still killed on both sides when it follows a rare boundary.
        points.UnionWith(points.Where(n => n < count).Select(n => n + 1).ToArray());

        var random = new Random(seed);
        for (var i = 0; i < RandomPoints; i++)
        {
            points.Add(random.Next(1, count + 1));
        }

        return [.. points];
    }

    /// <summary>The thread, name and kind of one strace line, or null for what is not a call (signals, resumptions).</summary>
    private static (string, string, string)? Parse(string line)
    {
        var match = CallLine().Match(line);
        if (!match.Success)
        {
            return null;
        }

        var name = match.Groups["name"].Value;
        return (match.Groups["thread"].Value, name, KindOf(name, match.Groups["args"].Value));
    }

    private static string KindOf(string name, string arguments)
    {
        var write = WriteArguments().Match(arguments);
        if (write.Success)
        {
            var repeated = Tokens(write.Groups["buffer"].Value).Distinct().Count() <= 1;
            return $"{name} {write.Groups["length"].Value} {(repeated ? "repeated" : "mixed")}";
        }

        var allocate = AllocateArguments().Match(arguments);
        return allocate.Success ? $"{name} {allocate.Groups["mode"].Value} {allocate.Groups["length"].Value}" : name;
    }

    /// <summary>The bytes of a C-escaped strace string as tokens, octal escapes by value (\0 and \000 alike).</summary>
    private static IEnumerable<string> Tokens(string escaped) =>
        EscapedByte().Matches(escaped).Select(m => m.Value.Length > 1 && char.IsAsciiDigit(m.Value[1])
            ? Convert.ToInt32(m.Value[1..], 8).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : m.Value);

    [GeneratedRegex(@"^(?<thread>\d+)\s+(?<name>\w+)\((?<args>.*)$")]
    private static partial Regex CallLine();

    [GeneratedRegex("^\\d+, \"(?<buffer>(?:[^\"\\\\]|\\\\.)*)\"(?:\\.\\.\\.)?, (?<length>\\d+),")]
    private static partial Regex WriteArguments();

    [GeneratedRegex(@"^\d+, (?<mode>[^,]+), \d+, (?<length>\d+)")]
    private static partial Regex AllocateArguments();

    [GeneratedRegex(@"\\[0-7]{1,3}|\\.|.")]
    private static partial Regex EscapedByte();
}
