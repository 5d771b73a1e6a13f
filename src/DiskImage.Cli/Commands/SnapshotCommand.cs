using System.CommandLine;
using DiskImage.Operations.Snapshots;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg snapshot [--object ...] [--image-opts] [-U] [-q] [-l | -c NAME | -a NAME | -d NAME] FILE</c>.</summary>
internal sealed class SnapshotCommand
{
    private readonly Option<bool> _list = new("-l") { Description = "List all snapshots in the image" };
    private readonly Option<string?> _create = new("-c") { Description = "Create a snapshot named NAME" };
    private readonly Option<string?> _apply = new("-a") { Description = "Apply (revert to) the snapshot with this ID or name" };
    private readonly Option<string?> _delete = new("-d") { Description = "Delete the snapshot with this ID or name" };
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
            _list, _create, _apply, _delete, _quiet, _forceShare, _file, _object, _imageOpts,
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

            using var secrets = Secrets.Load(parse, _object);
            // qemu-img's snapshot takes no -f: the format is always probed (or named by --image-opts).
            var source = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_file)!, parse.GetValue(_imageOpts), null, secrets);
            if (chosen.Count == 0)
            {
                // No action: qemu-img opens the image for writing and closes it again, printing nothing.
                ProbedRawWarning.WriteIfProbed(context, parse.GetValue(_file)!, null, parse.GetValue(_imageOpts));
                using var opened = DiskImage.Formats.ImageFormatRegistry.Default.Open(source.Path, source.Format, source.Apply(new DiskImage.Formats.ImageOpenOptions { ReadOnly = false }));
                return 0;
            }

            var (selected, snapshotName) = chosen[0];
            if (selected != SnapshotAction.List)
            {
                ProbedRawWarning.WriteIfProbed(context, parse.GetValue(_file)!, null, parse.GetValue(_imageOpts));
            }

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
