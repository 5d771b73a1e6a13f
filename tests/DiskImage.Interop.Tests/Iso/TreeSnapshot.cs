using System.Globalization;
using System.Security.Cryptography;

namespace DiskImage.Interop.Tests.Iso;

/// <summary>Describes every entry of a host directory (type, mode, size, content hash, link target, mtime) for comparison.</summary>
public static class TreeSnapshot
{
    public static SortedDictionary<string, string> Of(string root, bool withTimes = true, bool withModes = true)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Entries(root))
        {
            var relative = Path.GetRelativePath(root, entry);
            var info = new FileInfo(entry);
            if (info.LinkTarget is { } target)
            {
                result[relative] = "symlink -> " + target;
                continue;
            }

            var mode = withModes && !OperatingSystem.IsWindows() ? Convert.ToString((int)File.GetUnixFileMode(entry), 8) : "";
            var time = withTimes ? File.GetLastWriteTimeUtc(entry).ToString("s", CultureInfo.InvariantCulture) : "";
            if (Directory.Exists(entry))
            {
                result[relative] = $"dir {mode} {time}";
            }
            else
            {
                using var stream = File.OpenRead(entry);
                result[relative] = $"file {mode} {time} {info.Length} {Convert.ToHexString(SHA256.HashData(stream))}";
            }
        }

        return result;
    }

    /// <summary>Every path under <paramref name="root"/>, without descending into symbolic links to directories.</summary>
    public static List<string> Entries(string root)
    {
        var result = new List<string>();
        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            foreach (var entry in Directory.GetFileSystemEntries(pending.Pop()))
            {
                result.Add(entry);
                if (new FileInfo(entry).LinkTarget is null && Directory.Exists(entry))
                {
                    pending.Push(entry);
                }
            }
        }

        return result;
    }

    public static void AssertEqual(SortedDictionary<string, string> expected, SortedDictionary<string, string> actual)
    {
        var missing = expected.Keys.Except(actual.Keys).ToList();
        var extra = actual.Keys.Except(expected.Keys).ToList();
        var different = expected.Keys.Intersect(actual.Keys).Where(k => expected[k] != actual[k]).Select(k => $"{k}: {expected[k]} vs {actual[k]}").ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0 && different.Count == 0,
            $"missing: [{string.Join(", ", missing)}] extra: [{string.Join(", ", extra)}] different: [{string.Join("; ", different)}]");
        Assert.NotEmpty(expected);
    }
}
