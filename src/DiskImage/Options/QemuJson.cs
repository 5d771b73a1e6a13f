using System.Globalization;
using System.Text;

namespace DiskImage.Options;

/// <summary>
/// JSON as QEMU prints it in generated file names: <c>{"key": value, ...}</c>, members in the order of
/// QEMU's option dictionary (a 512-bucket hash table walked bucket by bucket), so names match qemu-img's.
/// </summary>
internal static class QemuJson
{
    private const int Buckets = 512;

    /// <summary>An object of already-encoded values; members with a null value are left out.</summary>
    /// <param name="members">Members in insertion order.</param>
    /// <param name="ordered">Keep the given order instead of QEMU's dictionary order.</param>
    public static string Object(IReadOnlyList<KeyValuePair<string, string?>> members, bool ordered = false)
    {
        var present = members.Where(m => m.Value is not null).Select((m, index) => (m.Key, m.Value, index));
        if (!ordered)
        {
            // Within a bucket QEMU lists the latest insertion first.
            present = present.OrderBy(m => Bucket(m.Key)).ThenByDescending(m => m.index);
        }

        return "{" + string.Join(", ", present.Select(m => String(m.Key) + ": " + m.Value)) + "}";
    }

    /// <summary>A leaf as QEMU prints it: strings quoted, numbers as given, booleans as true/false.</summary>
    public static string Scalar(JsonScalar value) => value.Kind switch
    {
        JsonScalarKind.String => String(value.Text),
        JsonScalarKind.Bool => value.Text == "on" ? "true" : "false",
        JsonScalarKind.Null => "null",
        _ => value.Text,
    };

    /// <summary>A quoted string with QEMU's escapes.</summary>
    public static string String(string text)
    {
        var result = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            _ = c switch
            {
                '"' => result.Append("\\\""),
                '\\' => result.Append("\\\\"),
                '\b' => result.Append("\\b"),
                '\f' => result.Append("\\f"),
                '\n' => result.Append("\\n"),
                '\r' => result.Append("\\r"),
                '\t' => result.Append("\\t"),
                < ' ' or >= (char)0x7f => result.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}"),
                _ => result.Append(c),
            };
        }

        return result.Append('"').ToString();
    }

    /// <summary>The hash bucket of a key in QEMU's dictionaries (the TDB string hash).</summary>
    internal static int Bucket(string key)
    {
        var bytes = Encoding.UTF8.GetBytes(key);
        unchecked
        {
            var value = 0x238F13AFu * (uint)bytes.Length;
            for (var i = 0; i < bytes.Length; i++)
            {
                value += (uint)bytes[i] << (i * 5 % 24);
            }

            return (int)((1103515243u * value + 12345u) % Buckets);
        }
    }
}
