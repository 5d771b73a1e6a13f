using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using DiskImage.Formats.Iso9660;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg iso ls [-R] [--output=human|json] IMAGE [PATH]</c>.</summary>
internal sealed class IsoLsCommand
{
    private readonly Option<bool> _recursive = new("-R", "--recursive") { Description = "List subdirectories recursively" };
    private readonly Option<string> _output = new("--output") { Description = "Output format: human or json", DefaultValueFactory = _ => "human" };
    private readonly Argument<string> _image = new("image") { Description = "ISO image file" };
    private readonly Argument<string> _path = new("path") { Description = "Directory or file inside the image", DefaultValueFactory = _ => "/" };

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new IsoLsCommand().Build(context);

    private Command Build(CliContext context)
    {
        _output.AcceptOnlyFromAmong("human", "json");
        var command = new Command("ls", "List files in an ISO 9660 image") { _recursive, _output, _image, _path };
        command.SetAction(parse =>
        {
            using var iso = IsoFileSystem.Open(parse.GetValue(_image)!);
            var path = parse.GetValue(_path)!;
            var start = iso.Find(path) ?? throw new InvalidOptionException($"'{path}' does not exist in the image");
            var nodes = start.Kind != IsoNodeKind.Directory ? [start]
                : parse.GetValue(_recursive) ? iso.Walk(start)
                : iso.GetChildren(start);
            if (parse.GetValue(_output) == "json")
            {
                WriteJson(context.Out, nodes);
            }
            else
            {
                foreach (var node in nodes)
                {
                    context.Out.WriteLine(HumanLine(node));
                }
            }

            return 0;
        });
        return command;
    }

    internal static string TypeName(IsoNodeKind kind) => kind switch
    {
        IsoNodeKind.Directory => "dir",
        IsoNodeKind.Symlink => "symlink",
        _ => "file",
    };

    private static void WriteJson(TextWriter output, IEnumerable<IsoNode> nodes)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, IndentSize = 4, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartArray();
            foreach (var node in nodes)
            {
                json.WriteStartObject();
                json.WriteString("path", node.Path);
                json.WriteString("type", TypeName(node.Kind));
                json.WriteNumber("size", node.Size);
                if (node.ModificationTime is { } time)
                {
                    json.WriteNumber("mtime", time.ToUnixTimeSeconds());
                }
                else
                {
                    json.WriteNull("mtime");
                }

                if (node.Mode is { } mode)
                {
                    json.WriteNumber("mode", mode);
                }
                else
                {
                    json.WriteNull("mode");
                }

                if (node.SymlinkTarget is { } target)
                {
                    json.WriteString("target", target);
                }
                else
                {
                    json.WriteNull("target");
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static string HumanLine(IsoNode node)
    {
        var type = node.Kind switch { IsoNodeKind.Directory => 'd', IsoNodeKind.Symlink => 'l', _ => '-' };
        var mode = node.Mode ?? (node.Kind == IsoNodeKind.Directory ? 0b101_101_101u : 0b100_100_100u);
        Span<char> bits = stackalloc char[9];
        const string Letters = "rwxrwxrwx";
        for (var i = 0; i < 9; i++)
        {
            bits[i] = (mode & (1u << (8 - i))) != 0 ? Letters[i] : '-';
        }

        var time = node.ModificationTime?.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "                ";
        var line = $"{type}{bits} {node.Size,12} {time} {node.Path}";
        return node.SymlinkTarget is { } target ? $"{line} -> {target}" : line;
    }
}
