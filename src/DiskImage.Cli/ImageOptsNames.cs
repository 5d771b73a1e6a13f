using System.Collections.Concurrent;

namespace DiskImage.Cli;

/// <summary>
/// <c>--image-opts</c> lists travel through the library as equivalent <c>json:</c> names; errors name the list as
/// the user typed it, as qemu-img does.
/// </summary>
internal static class ImageOptsNames
{
    private static readonly ConcurrentDictionary<string, string> TypedByJson = new(StringComparer.Ordinal);

    /// <summary>Forgets every name: the names belong to one command line, and a later one run in the same process may
    /// name the same file plainly.</summary>
    public static void Forget() => TypedByJson.Clear();

    /// <summary>Remembers that <paramref name="jsonName"/> stands for the option list <paramref name="typed"/>.</summary>
    public static void Remember(string jsonName, string typed) => TypedByJson[jsonName] = typed;

    /// <summary><paramref name="message"/> with every remembered <c>json:</c> name replaced by the list it stands for.</summary>
    public static string AsTyped(string message)
    {
        foreach (var (json, typed) in TypedByJson)
        {
            message = message.Replace($"'{json}'", $"'{typed}'", StringComparison.Ordinal);
        }

        return message;
    }
}
