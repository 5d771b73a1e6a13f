using System.Security.Cryptography;
using System.Text;

namespace DiskImage.IO.Ssh;

/// <summary>
/// The known_hosts files (~/.ssh/known_hosts, then /etc/ssh/ssh_known_hosts) asked about one server's key, as
/// libssh asks them for QEMU: plain and hashed (<c>|1|salt|hash</c>) host fields, comma lists, <c>*</c>/<c>?</c>
/// wildcards and <c>!</c> negation; a server on a port other than 22 is named <c>[host]:port</c>. Lines with a
/// marker (<c>@revoked</c>, <c>@cert-authority</c>) name no host.
/// </summary>
internal static class KnownHosts
{
    /// <summary>The largest known_hosts file read; a longer one is read only this far.</summary>
    private const int MaxFileBytes = 16 * 1024 * 1024;

    /// <summary>What the files say about <paramref name="keyBlob"/> for the server at <paramref name="host"/>:<paramref name="port"/>.</summary>
    public static KnownHostState Check(string host, int port, byte[] keyBlob, IEnumerable<string> files)
    {
        var name = port == 22 ? host : $"[{host}]:{port}";
        var keyType = new WireReader(keyBlob).Text() ?? "";
        var result = KnownHostState.Unknown;
        foreach (var file in files)
        {
            var state = CheckFile(file, name, keyType, keyBlob);
            if (state == KnownHostState.Ok)
            {
                return state;
            }

            result = (KnownHostState)Math.Max((int)result, (int)state);
        }

        return result;
    }

    /// <summary>The user's file and the system's, in the order they are asked.</summary>
    public static IEnumerable<string> DefaultFiles()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrEmpty(home))
        {
            yield return Path.Combine(home, ".ssh", "known_hosts");
        }

        yield return "/etc/ssh/ssh_known_hosts";
    }

    private static KnownHostState CheckFile(string file, string name, string keyType, byte[] keyBlob)
    {
        string text;
        try
        {
            using var stream = File.OpenRead(file);
            var buffer = new byte[(int)Math.Min(stream.Length, MaxFileBytes)];
            stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            text = Encoding.UTF8.GetString(buffer);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return KnownHostState.Unknown;
        }

        var result = KnownHostState.Unknown;
        foreach (var rawLine in text.Split('\n'))
        {
            var fields = rawLine.Trim().Split([' ', '\t'], 4, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 3 || fields[0].StartsWith('#') || fields[0].StartsWith('@') || !HostMatches(fields[0], name))
            {
                continue;
            }

            if (fields[1] != keyType)
            {
                result = (KnownHostState)Math.Max((int)result, (int)KnownHostState.OtherType);
                continue;
            }

            var blob = FromBase64(fields[2]);
            if (blob is not null && blob.AsSpan().SequenceEqual(keyBlob))
            {
                return KnownHostState.Ok;
            }

            result = KnownHostState.Changed;
        }

        return result;
    }

    private static byte[]? FromBase64(string text)
    {
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Whether a host field (a hashed name, or a comma list of patterns) names <paramref name="name"/>.</summary>
    internal static bool HostMatches(string field, string name)
    {
        if (field.StartsWith("|1|", StringComparison.Ordinal))
        {
            var parts = field.Split('|');
            if (parts.Length != 4 || FromBase64(parts[2]) is not { } salt || FromBase64(parts[3]) is not { } hash)
            {
                return false;
            }

            return CryptographicOperations.FixedTimeEquals(HMACSHA1.HashData(salt, Encoding.UTF8.GetBytes(name)), hash);
        }

        var matched = false;
        foreach (var pattern in field.Split(','))
        {
            var negated = pattern.StartsWith('!');
            if (Wildcard(negated ? pattern[1..] : pattern, name))
            {
                if (negated)
                {
                    return false;
                }

                matched = true;
            }
        }

        return matched;
    }

    /// <summary>A pattern with <c>*</c> (any run) and <c>?</c> (any one character), matched without regard to case.</summary>
    private static bool Wildcard(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        // Iterative with one backtrack point for the last '*': linear in practice, never exponential.
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(text[t])))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}

/// <summary>What known_hosts says about a server's key, least to most telling.</summary>
internal enum KnownHostState
{
    /// <summary>No line names the server.</summary>
    Unknown,

    /// <summary>Lines name the server, with keys of other types only.</summary>
    OtherType,

    /// <summary>A line names the server with a key of the same type that differs.</summary>
    Changed,

    /// <summary>A line names the server with this key.</summary>
    Ok,
}
