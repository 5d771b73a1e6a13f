using DiskImage.Formats;

namespace DiskImage.Cli.Rendering;

/// <summary><c>-o help</c> (or <c>-o ?</c>): the options a format takes, printed as qemu-img prints them.</summary>
internal static class CreateOptionHelp
{
    /// <summary>True when an option list holds the key <c>help</c> or <c>?</c> (",," is an escaped comma).</summary>
    public static bool AsksForHelp(string list) =>
        list.Replace(",,", "\0", StringComparison.Ordinal).Split(',').Any(item => item is "help" or "?");

    public static bool AsksForHelp(IEnumerable<string> lists) => lists.Any(AsksForHelp);

    /// <summary>
    /// create's and convert's listing; with a target file name the file protocol's options join in. Returns the exit
    /// code (1 with qemu-img's line for a format it does not know or cannot create).
    /// </summary>
    public static int PrintCreate(CliContext context, string format, string? filename)
    {
        if (!CreateOptionTable.Create.TryGetValue(format, out var entries))
        {
            context.Error.WriteLine(QemuFormatNames.CannotCreate(format)
                ? $"{ProgramName.Value}: {QemuFormatNames.NoCreationMessage(format)}"
                : $"{ProgramName.Value}: Unknown file format '{format}'");
            return 1;
        }

        if (filename is null)
        {
            context.Out.WriteLine($"Supported {format} options:");
            Print(context.Out, entries);
            context.Out.WriteLine();
            context.Out.WriteLine("The protocol level may support further options.");
            context.Out.WriteLine("Specify the target filename to include those options.");
            return 0;
        }

        // The format's entries win over the protocol's of the same name, as in qemu-img's merged list.
        // An nfs:// target's protocol (QEMU's nfs driver) creates with nothing but a size, which every format has.
        var protocol = filename.StartsWith("nfs://", StringComparison.Ordinal) ? [] : CreateOptionTable.FileProtocol;
        var merged = entries.Concat(protocol.Where(p => entries.All(e => e.Name != p.Name)));
        context.Out.WriteLine("Supported options:");
        Print(context.Out, merged);
        return 0;
    }

    /// <summary>amend's listing for <c>-f FMT -o help</c>.</summary>
    public static int PrintAmend(CliContext context, string format)
    {
        if (!CreateOptionTable.Amend.TryGetValue(format, out var entries))
        {
            context.Error.WriteLine(CreateOptionTable.Create.ContainsKey(format) || QemuFormatNames.IsKnown(format)
                ? $"{ProgramName.Value}: Format driver '{format}' does not support option amendment"
                : $"{ProgramName.Value}: Unknown file format '{format}'");
            return 1;
        }

        context.Out.WriteLine($"Amend options for '{format}':");
        Print(context.Out, entries);
        return 0;
    }

    private static void Print(TextWriter output, IEnumerable<CreateOptionTable.Entry> entries)
    {
        foreach (var entry in entries.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            output.WriteLine($"  {$"{entry.Name}=<{entry.Type}>",-22} - {entry.Help}");
        }
    }
}
