using System.CommandLine;
using DiskImage.Formats.Iso9660;

namespace DiskImage.Cli.Commands;

/// <summary>
/// <c>diskimg iso cloud-init -o seed.iso --user-data F --meta-data F [--network-config F] [--vendor-data F]</c>:
/// a cloud-init NoCloud seed (volume id <c>cidata</c>, Joliet and Rock Ridge), as <c>genisoimage -volid cidata -joliet -rock</c> makes it.
/// </summary>
internal sealed class IsoCloudInitCommand
{
    private readonly Option<string> _output = new("-o", "--output") { Description = "Seed image to write", Required = true };
    private readonly Option<string> _userData = new("--user-data") { Description = "File stored as user-data", Required = true };
    private readonly Option<string> _metaData = new("--meta-data") { Description = "File stored as meta-data", Required = true };
    private readonly Option<string?> _networkConfig = new("--network-config") { Description = "File stored as network-config" };
    private readonly Option<string?> _vendorData = new("--vendor-data") { Description = "File stored as vendor-data" };
    private readonly Option<long?> _sourceDateEpoch = new("--source-date-epoch") { Description = "Fixed time (seconds since 1970) for reproducible output" };

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new IsoCloudInitCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("cloud-init", "Build a cloud-init NoCloud seed image")
        {
            _output, _userData, _metaData, _networkConfig, _vendorData, _sourceDateEpoch,
        };
        command.SetAction(parse =>
        {
            var builder = new IsoBuilder(new IsoBuildOptions
            {
                VolumeId = "cidata",
                Joliet = true,
                RockRidge = IsoRockRidgeMode.Exact,
                SourceDateEpoch = IsoCreateCommand.SourceDateEpoch(parse.GetValue(_sourceDateEpoch)),
            });
            builder.AddFile("user-data", parse.GetValue(_userData)!);
            builder.AddFile("meta-data", parse.GetValue(_metaData)!);
            if (parse.GetValue(_networkConfig) is { } network)
            {
                builder.AddFile("network-config", network);
            }

            if (parse.GetValue(_vendorData) is { } vendor)
            {
                builder.AddFile("vendor-data", vendor);
            }

            builder.Build(parse.GetValue(_output)!, cancellationToken: context.Cancellation);
            return 0;
        });
        return command;
    }
}
