namespace DiskImage.Options;

/// <summary>qemu-img's <c>-o key=value,key=value</c> option lists.</summary>
public static class KeyValueOptions
{
    /// <summary>
    /// Parses a comma-separated list; a doubled comma stands for a literal comma, as in QEMU.
    /// Later keys override earlier ones. A bare key means <c>key=on</c>.
    /// </summary>
    public static Dictionary<string, string> Parse(IEnumerable<string> lists)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var list in lists)
        {
            foreach (var item in Split(list))
            {
                if (item.Length == 0)
                {
                    continue;
                }

                var eq = item.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0)
                {
                    result[item] = "on";
                }
                else
                {
                    result[item[..eq]] = item[(eq + 1)..];
                }
            }
        }

        return result;
    }

    /// <summary>Parses qemu's boolean spellings.</summary>
    public static bool ParseBool(string key, string value) => value switch
    {
        "on" or "yes" or "true" or "y" => true,
        "off" or "no" or "false" or "n" => false,
        _ => throw new InvalidOptionException($"Parameter '{key}' expects 'on' or 'off'"),
    };

    private static IEnumerable<string> Split(string list)
    {
        var current = new System.Text.StringBuilder();
        for (var i = 0; i < list.Length; i++)
        {
            if (list[i] == ',')
            {
                if (i + 1 < list.Length && list[i + 1] == ',')
                {
                    current.Append(',');
                    i++;
                    continue;
                }

                yield return current.ToString();
                current.Clear();
                continue;
            }

            current.Append(list[i]);
        }

        yield return current.ToString();
    }
}
