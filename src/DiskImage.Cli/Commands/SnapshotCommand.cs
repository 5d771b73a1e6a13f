using System.CommandLine;
using DiskImage.Operations.Snapshots;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg snapshot [--object ...] [--image-opts] [-l | -c NAME | -a NAME | -d NAME] [-f fmt] [-q] FILE</c>.</summary>
internal sealed class SnapshotCommand
{
    private readonly Option<bool> _list = new("-l") { Description = "List all snapshots in the image (the default)" };
    private readonly Option<string?> _create = new("-c") { Description = "Create a snapshot named NAME" };
    private readonly Option<string?> _apply = new("-a") { Description = "Apply (revert to) the snapshot with this ID or name" };
    private readonly Option<string?> _delete = new("-d") { Description = "Delete the snapshot with this ID or name" };
    private readonly Option<string?> _format = new("-f") { Description = "Image format (probed when omitted)" };
    private readonly Option<bool> _quiet = new("-q") { Description = "Quiet mode" };
    private readonly Option<bool> _forceShare = ForceShareOption.Create("the image (listing only)");
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new SnapshotCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("snapshot", "List, create, apply or delete internal snapshots")
        {
            _list, _create, _apply, _delete, _format, _quiet, _forceShare, _file, _object, _imageOpts,
        };
        command.SetAction(parse =>
        {
            var chosen = new List<(SnapshotAction Action, string? Name)>();
            if (parse.GetValue(_list))
            {
                chosen.Add((SnapshotAction.List, null));
            }

            foreach (var (option, action) in new[] { (_create, SnapshotAction.Create), (_apply, SnapshotAction.Apply), (_delete, SnapshotAction.Delete) })
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
            using var secrets = Secrets.Load(parse, _object);
            var source = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            var snapshots = ImageSnapshots.Run(new SnapshotOptions
            {
                Path = source.Path,
                Format = source.Format,
                Action = selected,
                Name = snapshotName,
                ForceShare = parse.GetValue(_forceShare),
                SecretProvider = secrets.Get,
                KeySecret = source.KeySecret,
                DriverMessages = context.Error.WriteLine,
            }, cancellationToken: context.Cancellation);
            if (selected == SnapshotAction.List)
            {
                context.Out.Write(SnapshotListText.Format(snapshots));
            }

            return 0;
        });
        return command;
    }
}
