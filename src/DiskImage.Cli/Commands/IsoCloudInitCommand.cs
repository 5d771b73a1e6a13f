using System.CommandLine;
using DiskImage.Formats.Iso9660;

namespace DiskImage.Cli.Commands;

/// <summary>
/// <c>diskimg iso cloud-init -o seed.iso --user-data F --meta-data F [--network-config F] [--vendor-data F]</c>:
/// a cloud-init NoCloud seed (volume id <c>cidata</c>, Joliet and Rock Ridge), as <c>genisoimage -volid cidata -joliet -rock</c> makes it.
/// </summary>
internal static class IsoCloudInitCommand
{
    private static readonly Option<string> s_output = new("-o", "--output") { Description = "Seed image to write", Required = true };
    private static readonly Option<string> s_userData = new("--user-data") { Description = "File stored as user-data", Required = true };
    private static readonly Option<string> s_metaData = new("--meta-data") { Description = "File stored as meta-data", Required = true };
    private static readonly Option<string?> s_networkConfig = new("--network-config") { Description = "File stored as network-config" };
    private static readonly Option<string?> s_vendorData = new("--vendor-data") { Description = "File stored as vendor-data" };
    private static readonly Option<long?> s_sourceDateEpoch = new("--source-date-epoch") { Description = "Fixed time (seconds since 1970) for reproducible output" };

    public static Command Create(CliContext context)
    {
        var command = new Command("cloud-init", "Build a cloud-init NoCloud seed image")
        {
            s_output, s_userData, s_metaData, s_networkConfig, s_vendorData, s_sourceDateEpoch,
        };
        command.SetAction(parse =>
        {
            var builder = new IsoBuilder(new IsoBuildOptions
            {
                VolumeId = "cidata",
                Joliet = true,
                RockRidge = IsoRockRidgeMode.Exact,
                SourceDateEpoch = IsoCreateCommand.SourceDateEpoch(parse.GetValue(s_sourceDateEpoch)),
            });
            builder.AddFile("user-data", parse.GetValue(s_userData)!);
            builder.AddFile("meta-data", parse.GetValue(s_metaData)!);
            if (parse.GetValue(s_networkConfig) is { } network)
            {
                builder.AddFile("network-config", network);
            }

            if (parse.GetValue(s_vendorData) is { } vendor)
            {
                builder.AddFile("vendor-data", vendor);
            }

            builder.Build(parse.GetValue(s_output)!);
            return 0;
        });
        return command;
    }
}
