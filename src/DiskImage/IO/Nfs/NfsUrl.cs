using DiskImage.Formats.Foreign;

namespace DiskImage.IO.Nfs;

/// <summary>
/// Reads an <c>nfs://HOST/PATH[?uid=N&amp;gid=N&amp;tcp-syncnt=N&amp;readahead=N&amp;pagecache=N&amp;debug=N]</c> name as
/// QEMU 7.2's nfs driver reads it: its URI parser, then the scheme, host, path and each query parameter checked in
/// that order, each refusal in QEMU's words. A port in the URL is read and ignored, as there.
/// </summary>
internal static class NfsUrl
{
    /// <summary>Whether <paramref name="name"/> is an <c>nfs://</c> URL.</summary>
    public static bool IsNfs(string name) => name.StartsWith("nfs://", StringComparison.Ordinal);

    /// <summary>The target <paramref name="url"/> names.</summary>
    /// <exception cref="InvalidImageException">QEMU's refusal of the name.</exception>
    public static NfsTarget Parse(string url)
    {
        var uri = QemuUriReference.Parse(url) ?? throw new InvalidImageException("Invalid URI specified");
        if (uri.Scheme != "nfs")
        {
            throw new InvalidImageException("URI scheme must be 'nfs'");
        }

        if (string.IsNullOrEmpty(uri.Server))
        {
            throw new InvalidImageException("missing hostname in URI");
        }

        if (uri.Path is null)
        {
            throw new InvalidImageException("missing file path in URI");
        }

        var target = new NfsTarget(uri.Server, uri.Path);
        foreach (var (name, value) in GlusterLocation.QueryParameters(uri.Query))
        {
            if (value is null)
            {
                throw new InvalidImageException($"Value for NFS parameter expected: {name}");
            }

            if (ParseUnsigned(value) is not { } number)
            {
                throw new InvalidImageException($"Illegal value for NFS parameter: {name}");
            }

            target = name switch
            {
                "uid" => target with { User = number },
                "gid" => target with { Group = number },
                "tcp-syncnt" => target with { TcpSynCount = number },
                "readahead" => target with { ReadaheadSize = number },
                "pagecache" => target with { PageCacheSize = number },
                "debug" => target with { Debug = number },
                _ => throw new InvalidImageException($"Unknown NFS parameter name: {name}"),
            };
        }

        return target;
    }

    /// <summary>
    /// An unsigned number as QEMU's <c>parse_uint_full</c> takes it (leading blanks, decimal, 0x hex or 0 octal,
    /// nothing after), kept where it fits the driver's 64-bit signed options; null where QEMU refuses it.
    /// </summary>
    internal static long? ParseUnsigned(string text)
    {
        var s = text.TrimStart(' ', '\t', '\n', '\v', '\f', '\r');
        if (s.Length == 0 || s[0] == '-')
        {
            return null;
        }

        if (s[0] == '+')
        {
            s = s[1..];
        }

        var (digits, style) = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && s.Length > 2 ? (s[2..], 16)
            : s.Length > 1 && s[0] == '0' ? (s[1..], 8)
            : (s, 10);
        ulong value = 0;
        foreach (var c in digits)
        {
            var d = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => 99,
            };
            if (d >= style)
            {
                return null;
            }

            if (value > (ulong.MaxValue - (ulong)d) / (ulong)style)
            {
                return null;
            }

            value = (value * (ulong)style) + (ulong)d;
        }

        return value > long.MaxValue ? null : (long)value;
    }
}
