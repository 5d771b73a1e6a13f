using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace DiskImage.Cli.Rendering;

/// <summary>JSON as qemu-img prints it: indented by four spaces, non-ASCII left as is.</summary>
internal static class JsonOutput
{
    private static readonly JsonWriterOptions s_options = new()
    {
        Indented = true,
        IndentSize = 4,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Runs <paramref name="write"/> against a JSON writer and prints the result with a final newline.</summary>
    public static void Print(TextWriter output, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, s_options))
        {
            write(writer);
        }

        output.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>Writes <paramref name="fields"/> as one JSON object.</summary>
    public static void WriteObject(Utf8JsonWriter writer, InfoFields fields)
    {
        writer.WriteStartObject();
        foreach (var (key, value) in fields)
        {
            writer.WritePropertyName(key);
            WriteValue(writer, value);
        }

        writer.WriteEndObject();
    }

    private static void WriteValue(Utf8JsonWriter writer, object value)
    {
        switch (value)
        {
            case string text:
                writer.WriteStringValue(text);
                break;
            case bool flag:
                writer.WriteBooleanValue(flag);
                break;
            case int number:
                writer.WriteNumberValue(number);
                break;
            case long number:
                writer.WriteNumberValue(number);
                break;
            case ulong number:
                writer.WriteNumberValue(number);
                break;
            case InfoFields fields:
                WriteObject(writer, fields);
                break;
            case IEnumerable<InfoFields> list:
                writer.WriteStartArray();
                foreach (var item in list)
                {
                    WriteObject(writer, item);
                }

                writer.WriteEndArray();
                break;
            case IEnumerable<string> texts:
                WriteStrings(writer, texts);
                break;
            default:
                writer.WriteStringValue(value.ToString());
                break;
        }
    }

    /// <summary>A list of strings; an empty one is printed over two lines, as qemu-img prints it.</summary>
    private static void WriteStrings(Utf8JsonWriter writer, IEnumerable<string> texts)
    {
        var list = texts.ToList();
        if (list.Count == 0)
        {
            writer.WriteRawValue("[\n" + new string(' ', writer.CurrentDepth * 4) + "]", skipInputValidation: true);
            return;
        }

        writer.WriteStartArray();
        foreach (var text in list)
        {
            writer.WriteStringValue(text);
        }

        writer.WriteEndArray();
    }
}
