using System.Collections.Concurrent;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>
/// LUKS images (standalone or inside qcow2) that qemu-img makes as a test's input, made once per distinct command line
/// and copied for every later test that asks for the same one. qemu-img calibrates PBKDF2 for about a second of CPU
/// time on every LUKS create, whatever <c>iter-time</c> says, and the suite asks for the same few images hundreds of
/// times. The copy is the bytes qemu-img wrote for that very command line (holes kept), so the test still gets an image
/// of QEMU's making; only the random salts and keys are shared between tests. A create that prints (no <c>-q</c>),
/// names a backing file or a data file, reads a secret from a file, or uses an option not understood here runs as it
/// is.
/// </summary>
public static class LuksCreateCache
{
    private static readonly ConcurrentDictionary<string, Lazy<string>> s_made = new(StringComparer.Ordinal);
    private static readonly Lazy<TempDirectory> s_directory = new(() =>
    {
        var directory = new TempDirectory();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => directory.Dispose();
        return directory;
    });

    /// <summary>Makes the image of a <c>qemu-img create</c> from the cache and returns true, or returns false when the line is not one to cache.</summary>
    public static bool TryCreate(string[] arguments)
    {
        if (!TryParse(arguments, out var target, out var key) || File.Exists(target) || Directory.Exists(target))
        {
            return false;
        }

        var made = s_made.GetOrAdd(key, _ => new Lazy<string>(() => Make(arguments, target))).Value;
        // cp keeps the holes qemu-img left (the LUKS payload is a hole), which a plain copy may fill.
        ExternalTool.Run("cp", "--sparse=always", made, target).EnsureSuccess("cp " + made);
        return true;
    }

    private static string Make(string[] arguments, string target)
    {
        var made = s_directory.Value.File($"{s_made.Count}-{Guid.NewGuid():N}.img");
        string[] inCache = [.. arguments.Select(a => a == target ? made : a)];
        ExternalTool.Run("qemu-img", inCache).EnsureSuccess("qemu-img " + string.Join(' ', arguments));
        return made;
    }

    /// <summary>The target file and, as the key, every other argument, for a quiet LUKS create with no other file in it.</summary>
    private static bool TryParse(string[] arguments, out string target, out string key)
    {
        target = "";
        key = "";
        if (arguments is not ["create", ..] || !arguments.Contains("-q"))
        {
            return false;
        }

        var luks = false;
        var positional = new List<int>();
        for (var i = 1; i < arguments.Length; i++)
        {
            switch (arguments[i])
            {
                case "-q":
                    break;
                case "-f" when i + 1 < arguments.Length:
                    luks |= arguments[++i] == "luks";
                    break;
                case "-o" when i + 1 < arguments.Length:
                    var options = arguments[++i];
                    if (options.Contains("backing", StringComparison.Ordinal) || options.Contains("data_file", StringComparison.Ordinal))
                    {
                        return false;
                    }

                    luks |= options.Contains("encrypt.format=luks", StringComparison.Ordinal);
                    break;
                case "--object" when i + 1 < arguments.Length:
                    if (!arguments[++i].StartsWith("secret,", StringComparison.Ordinal) || arguments[i].Contains("file=", StringComparison.Ordinal))
                    {
                        return false;
                    }

                    break;
                case ['-', ..]:
                    return false;
                default:
                    positional.Add(i);
                    break;
            }
        }

        if (!luks || positional.Count is not 2 || !Path.IsPathRooted(arguments[positional[0]]))
        {
            return false;
        }

        target = arguments[positional[0]];
        var filename = positional[0];
        key = string.Join('\0', arguments.Where((_, i) => i != filename));
        return true;
    }
}
