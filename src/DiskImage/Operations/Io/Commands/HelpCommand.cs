namespace DiskImage.Operations.Io.Commands;

/// <summary><c>help [command]</c>: every command's usage line, or one command's usage and a short description.</summary>
internal static class HelpCommand
{
    public static readonly QemuIoCommandInfo Info = new("help", "?", "[command]", "help for one or all commands", 0, 1, Run, QemuIoCommandScope.Global);

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        if (words.Length == 1)
        {
            foreach (var command in QemuIoCommandTable.All)
            {
                output.Out(Line(command.Name, command));
            }

            output.Out("");
            output.Out("Use 'help commandname' for extended help.");
            return 0;
        }

        if (QemuIoCommandTable.Find(words[1]) is not { } found)
        {
            output.Out($"command {words[1]} not found");
            return QemuIoErrno.EINVAL;
        }

        // The command is named as it was asked for (an alias stays an alias).
        output.Out(Line(words[1], found));
        if (found.Help is not null)
        {
            output.Out("");
            output.Out(" " + found.Help);
            output.Out("");
        }

        return 0;
    }

    /// <summary>qemu-io prints "name args -- oneline", leaving out args when a command has none.</summary>
    private static string Line(string name, QemuIoCommandInfo command) => command.Args is null ? $"{name} -- {command.OneLine}" : $"{name} {command.Args} -- {command.OneLine}";
}
