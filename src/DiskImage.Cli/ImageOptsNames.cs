using System.Collections.Concurrent;

namespace DiskImage.Cli;

/// <summary>
/// <c>--image-opts</c> lists travel through the library as equivalent <c>json:</c> names; errors name the list as
/// the user typed it, as qemu-img does. One instance belongs to one command line (its <see cref="CliContext"/>), so
/// command lines run in one process, one after another or at the same time, never see each other's names.
/// </summary>
internal sealed class ImageOptsNames
{
    // Concurrent: a verb may open its images from more than one thread.
    private readonly ConcurrentDictionary<string, string> _typedByJson = new(StringComparer.Ordinal);

    /// <summary>Remembers that <paramref name="jsonName"/> stands for the option list <paramref name="typed"/>.</summary>
    public void Remember(string jsonName, string typed) => _typedByJson[jsonName] = typed;

    /// <summary><paramref name="message"/> with every remembered <c>json:</c> name replaced by the list it stands for.</summary>
    public string AsTyped(string message)
    {
        foreach (var (json, typed) in _typedByJson)
        {
            message = message.Replace($"'{json}'", $"'{typed}'", StringComparison.Ordinal);
        }

        return message;
    }
}
