using System.Globalization;

namespace DiskImage.Cli.Rendering;

/// <summary>qemu-img's human form of nested fields: <c>key: value</c> lines, nested objects indented.</summary>
internal static class HumanOutput
{
    public static void WriteFields(TextWriter output, InfoFields fields, int indent)
    {
        var pad = new string(' ', indent);
        foreach (var (key, value) in fields)
        {
            var label = key.Replace('-', ' ');
            switch (value)
            {
                case InfoFields nested:
                    output.WriteLine($"{pad}{label}:");
                    WriteFields(output, nested, indent + 4);
                    break;
                case IEnumerable<InfoFields> list:
                    output.WriteLine($"{pad}{label}:");
                    var index = 0;
                    foreach (var item in list)
                    {
                        output.WriteLine($"{pad}    [{index++}]:");
                        WriteFields(output, item, indent + 8);
                    }

                    break;
                case IEnumerable<string> texts:
                    output.WriteLine($"{pad}{label}:");
                    var position = 0;
                    foreach (var text in texts)
                    {
                        output.WriteLine($"{pad}    [{position++}]: {text}");
                    }

                    break;
                default:
                    output.WriteLine($"{pad}{label}: {Text(value)}");
                    break;
            }
        }
    }

    public static string Text(object value) => value switch
    {
        bool flag => flag ? "true" : "false",
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
