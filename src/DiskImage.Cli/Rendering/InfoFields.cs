namespace DiskImage.Cli.Rendering;

/// <summary>
/// An ordered list of named values, rendered both as qemu-img's JSON object and as its indented
/// human form (where a key's dashes become spaces). Values are strings, numbers, booleans, nested
/// <see cref="InfoFields"/> or lists of them; null values are left out.
/// </summary>
internal sealed class InfoFields : List<KeyValuePair<string, object>>
{
    public void Add(string key, object? value)
    {
        if (value is not null)
        {
            Add(new KeyValuePair<string, object>(key, value));
        }
    }
}
