using System.CommandLine;
using DiskImage.Operations.Snapshots;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg snapshot [-l | -c NAME | -a NAME | -d NAME] [-f fmt] [-q] FILE</c>.</summary>
internal static class SnapshotCommand
{
    private static readonly Option<bool> s_list = new("-l") { Description = "List all snapshots in the image (the default)" };
    private static readonly Option<string?> s_create = new("-c") { Description = "Create a snapshot named NAME" };
    private static readonly Option<string?> s_apply = new("-a") { Description = "Apply (revert to) the snapshot with this ID or name" };
    private static readonly Option<string?> s_delete = new("-d") { Description = "Delete the snapshot with this ID or name" };
    private static readonly Option<string?> s_format = new("-f") { Description = "Image format (probed when omitted)" };
    private static readonly Option<bool> s_quiet = new("-q") { Description = "Quiet mode" };
    private static readonly Option<bool> s_forceShare = new("-U", "--force-share") { Description = "Open the image with shared permissions" };
    private static readonly Argument<string> s_file = new("filename") { Description = "Image file" };

    public static Command Create(CliContext context)
    {
        var command = new Command("snapshot", "List, create, apply or delete internal snapshots")
        {
            s_list, s_create, s_apply, s_delete, s_format, s_quiet, s_forceShare, s_file,
        };
        command.SetAction(parse =>
        {
            var chosen = new List<(SnapshotAction Action, string? Name)>();
            if (parse.GetValue(s_list))
            {
                chosen.Add((SnapshotAction.List, null));
            }

            foreach (var (option, action) in new[] { (s_create, SnapshotAction.Create), (s_apply, SnapshotAction.Apply), (s_delete, SnapshotAction.Delete) })
            {
                if (parse.GetValue(option) is { } name)
                {
                    chosen.Add((action, name));
                }
            }

            if (chosen.Count > 1)
            {
                throw new InvalidOptionException("Cannot mix '-l', '-a', '-c', '-d'");
            }

            var (selected, snapshotName) = chosen.Count == 0 ? (SnapshotAction.List, null) : chosen[0];
            var snapshots = ImageSnapshots.Run(new SnapshotOptions
            {
                Path = parse.GetValue(s_file)!,
                Format = parse.GetValue(s_format),
                Action = selected,
                Name = snapshotName,
            });
            if (selected == SnapshotAction.List)
            {
                context.Out.Write(SnapshotListText.Format(snapshots));
            }

            return 0;
        });
        return command;
    }
}
