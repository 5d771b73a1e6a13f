using System.CommandLine;
using System.Globalization;
using DiskImage.Formats.Iso9660;

namespace DiskImage.Cli.Commands;

/// <summary>
/// <c>diskimg iso create -o OUT [-V VOLID] [-J] [-R|-r] [-b IMG -no-emul-boot -boot-load-size N -boot-info-table]
/// [-c CATALOG] [-eltorito-alt-boot -e EFIIMG -no-emul-boot] [--source-date-epoch T] PATH...</c>, with genisoimage's flag names.
/// </summary>
internal sealed class IsoCreateCommand
{
    private readonly Option<string> _output = new("-o", "--output") { Description = "Image file to write", Required = true };
    private readonly Option<string?> _volumeId = new("-V", "--volid") { Description = "Volume id (32 characters at most)" };
    private readonly Option<bool> _joliet = new("-J", "--joliet") { Description = "Add a Joliet tree" };
    private readonly Option<bool> _rockExact = new("-R", "--rock") { Description = "Rock Ridge with the host's ownership and permissions" };
    private readonly Option<bool> _rockRational = new("-r", "--rational-rock") { Description = "Rock Ridge with rationalized ownership and permissions" };
    private readonly Option<string[]> _biosImage = new("-b", "-eltorito-boot") { Description = "BIOS El Torito boot image (path inside the image)" };
    private readonly Option<string[]> _efiImage = new("-e", "--efi-boot") { Description = "UEFI El Torito boot image (path inside the image)" };
    private readonly Option<bool> _noEmulation = new("-no-emul-boot") { Description = "No-emulation boot (the only mode supported)", Arity = ArgumentArity.Zero, AllowMultipleArgumentsPerToken = false };
    private readonly Option<string[]> _loadSize = new("-boot-load-size") { Description = "512-byte sectors the firmware loads" };
    private readonly Option<bool> _bootInfoTable = new("-boot-info-table") { Description = "Patch a boot info table into the boot image" };
    private readonly Option<bool> _altBoot = new("-eltorito-alt-boot") { Description = "Start the next El Torito entry" };
    private readonly Option<string?> _catalog = new("-c", "-eltorito-catalog") { Description = "Boot catalog path inside the image" };
    private readonly Option<long?> _sourceDateEpoch = new("--source-date-epoch") { Description = "Fixed time (seconds since 1970) for reproducible output; defaults to $SOURCE_DATE_EPOCH" };
    private readonly Argument<string[]> _paths = new("path") { Description = "Directories (grafted at the root) and files (added at the root)", Arity = ArgumentArity.OneOrMore };

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new IsoCreateCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("create", "Build an ISO 9660 image from files and directories")
        {
            _output, _volumeId, _joliet, _rockExact, _rockRational, _biosImage, _efiImage, _noEmulation,
            _loadSize, _bootInfoTable, _altBoot, _catalog, _sourceDateEpoch, _paths,
        };
        command.SetAction(parse =>
        {
            var options = new IsoBuildOptions
            {
                VolumeId = parse.GetValue(_volumeId) ?? "CDROM",
                Joliet = parse.GetValue(_joliet),
                RockRidge = parse.GetValue(_rockRational) ? IsoRockRidgeMode.Rationalized
                    : parse.GetValue(_rockExact) ? IsoRockRidgeMode.Exact : IsoRockRidgeMode.None,
                SourceDateEpoch = SourceDateEpoch(parse.GetValue(_sourceDateEpoch)),
                BootImages = BootImages(parse.Tokens.Select(t => t.Value).ToList()),
                BootCatalogPath = parse.GetValue(_catalog),
            };
            var builder = new IsoBuilder(options);
            foreach (var path in parse.GetValue(_paths) ?? [])
            {
                if (Directory.Exists(path))
                {
                    builder.AddDirectoryTree(path);
                }
                else
                {
                    builder.AddFile(Path.GetFileName(Path.TrimEndingDirectorySeparator(path)), path);
                }
            }

            builder.Build(parse.GetValue(_output)!, cancellationToken: context.Cancellation);
            return 0;
        });
        return command;
    }

    internal static DateTimeOffset? SourceDateEpoch(long? seconds)
    {
        if (seconds is null && Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH") is { Length: > 0 } text)
        {
            seconds = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed
                : throw new InvalidOptionException($"SOURCE_DATE_EPOCH '{text}' is not a number of seconds");
        }

        return seconds is { } s ? DateTimeOffset.FromUnixTimeSeconds(s) : null;
    }

    /// <summary>El Torito options apply to the entry opened by the last -b/-e, so they are read in command-line order.</summary>
    private static List<IsoBootImage> BootImages(List<string> tokens)
    {
        var images = new List<IsoBootImage>();
        IsoBootImage? current = null;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            string Value() => i + 1 < tokens.Count ? tokens[++i] : throw new InvalidOptionException($"{token} needs a value");
            switch (token)
            {
                case "-b" or "-eltorito-boot":
                    Finish();
                    current = new IsoBootImage { ImagePath = Value(), Platform = 0 };
                    break;
                case "-e" or "--efi-boot":
                    Finish();
                    current = new IsoBootImage { ImagePath = Value(), Platform = 0xEF };
                    break;
                case "-boot-load-size":
                    var text = Value();
                    if (current is null || !ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var size) || size == 0)
                    {
                        throw new InvalidOptionException($"-boot-load-size '{text}' must follow -b or -e and be 1 to 65535");
                    }

                    current = current with { LoadSize = size };
                    break;
                case "-boot-info-table":
                    current = (current ?? throw new InvalidOptionException("-boot-info-table must follow -b or -e")) with { BootInfoTable = true };
                    break;
                case "-eltorito-alt-boot":
                    Finish();
                    break;
            }
        }

        Finish();
        return images;

        void Finish()
        {
            if (current is not null)
            {
                images.Add(current);
                current = null;
            }
        }
    }
}
