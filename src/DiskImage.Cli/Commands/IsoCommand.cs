using System.CommandLine;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg iso ls|extract|create|cloud-init</c>: ISO 9660 images as file systems.</summary>
internal static class IsoCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("iso", "Read, extract and build ISO 9660 images");
        command.Subcommands.Add(IsoLsCommand.Create(context));
        command.Subcommands.Add(IsoExtractCommand.Create(context));
        command.Subcommands.Add(IsoCreateCommand.Create(context));
        command.Subcommands.Add(IsoCloudInitCommand.Create(context));
        return command;
    }
}
