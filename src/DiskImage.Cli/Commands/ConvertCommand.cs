using System.CommandLine;
using DiskImage.Cli.Rendering;
using DiskImage.Formats;
using DiskImage.Operations.Conversion;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary>
/// <c>diskimg convert [--object ...] [--image-opts] [--target-image-opts] [-f fmt] [-O fmt] [-B backing [-F fmt]] [--bitmap NAME] [-o opts] [-c] [-S size] [-n] [--target-is-zero] [-p] [-q] [-m N] [-W] SRC... DST</c>.
/// </summary>
internal sealed class ConvertCommand
{
    private readonly Option<string?> _sourceFormat = new("-f") { Description = "Source format (probed per source when omitted)" };
    private readonly Option<string> _targetFormat = new("-O") { Description = "Target format", DefaultValueFactory = _ => "raw" };
    private readonly Option<string[]> _options = new("-o") { Description = "Target format options, key=value[,key=value...] (may repeat)" };
    private readonly Option<bool> _compress = new("-c") { Description = "Compress the target's clusters" };
    private readonly Option<string?> _sparse = new("-S") { Description = "Zero runs at least this long are not written (default 4k; 0 fully allocates)" };
    private readonly Option<bool> _noCreate = new("-n") { Description = "Use the existing target; do not create it" };
    private readonly Option<bool> _targetIsZero = new("--target-is-zero") { Description = "The existing target reads as zeroes (with -n)" };
    private readonly Option<bool> _progress = new("-p") { Description = "Show progress" };
    private readonly Option<bool> _quiet = new("-q") { Description = "Quiet" };
    private readonly Option<int> _workers = new("-m")
    {
        Description = "Parallel workers (1-16)",
        DefaultValueFactory = _ => ConvertOptions.DefaultWorkers,
        // Not a number is refused as an out-of-range count, with qemu-img's words for both (0 is out of range).
        CustomParser = r => int.TryParse(r.Tokens[0].Value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0,
    };
    private readonly Option<bool> _outOfOrder = new("-W") { Description = "Allow out-of-order writes" };
    private readonly Option<bool> _forceShare = ForceShareOption.Create("the sources");
    private readonly Option<string?> _cache = new("-t") { Description = "Target cache mode: unsafe (default, no flushes), writeback, none, writethrough, directsync" };
    private readonly Option<string?> _sourceCache = new("-T") { Description = "Source cache mode (accepted for compatibility)" };
    private readonly Option<bool> _untrusted = UntrustedOption.Create();
    private readonly Option<string?> _snapshot = new("-l") { Description = "Read the sources from an internal snapshot: snapshot.name=NAME, snapshot.id=ID or NAME" };
    private readonly Option<bool> _copyOffload = new("-C") { Description = "Copy offloading (copy_file_range) where the host allows it; refused with -c, -S and --salvage" };
    private readonly Option<string?> _rateLimit = new("-r") { Description = "Rate limit in bytes of data per second (k, M, G suffixes)" };
    private readonly Option<bool> _salvage = new("--salvage") { Description = "Copy source sectors that cannot be read as zeroes, with a warning each" };
    private readonly Option<bool> _bitmaps = new("--bitmaps") { Description = "Copy every persistent bitmap of the source (qcow2 to qcow2)" };
    private readonly Option<bool> _skipBrokenBitmaps = new("--skip-broken-bitmaps") { Description = "With --bitmaps, skip inconsistent bitmaps" };
    private readonly Option<string?> _backing = new("-B") { Description = "The new target is an overlay over this file; only what the source's own layer holds is written" };
    private readonly Option<string?> _backingFormat = new("-F") { Description = "Format of the -B file (required with -B)" };
    private readonly Option<string?> _bitmap = new("--bitmap") { Description = "Incremental backup: copy only this persistent bitmap's dirty granules of the qcow2 source, over -B (the previous backup)" };
    private readonly Argument<string[]> _files = new("files") { Description = "Source images, then the target", Arity = ArgumentArity.ZeroOrMore };

    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();
    private readonly Option<bool> _targetImageOpts = new("--target-image-opts")
    {
        Description = "The target (existing, with -n) is an option list: driver=FMT,file.filename=PATH,encrypt.key-secret=ID",
    };

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new ConvertCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("convert", "Convert, concatenate or flatten images into a new image")
        {
            _sourceFormat, _targetFormat, _options, _compress, _sparse, _noCreate, _targetIsZero,
            _progress, _quiet, _workers, _outOfOrder, _forceShare, _cache, _sourceCache, _untrusted, _snapshot, _files, _object, _imageOpts, _targetImageOpts,
            _copyOffload, _rateLimit, _salvage, _bitmaps, _skipBrokenBitmaps,
            _backing, _backingFormat, _bitmap,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var files = parse.GetValue(_files)!;
            var sparse = parse.GetValue(_sparse);
            var rateLimit = parse.GetValue(_rateLimit) is { } rate ? SizeText.Parse(rate, "rate limit") : 0;
            CheckCombinations(parse, sparse is not null);
            if (CreateOptionHelp.AsksForHelp(parse.GetValue(_options) ?? []))
            {
                // qemu-img lists the target format's options, with the file protocol's when a target is named.
                return CreateOptionHelp.PrintCreate(context, parse.GetValue(_targetFormat)!, files.Length >= 2 ? files[^1] : null);
            }

            if (files.Length < 2)
            {
                throw new InvalidOptionException("Must specify image file name");
            }

            var snapshot = parse.GetValue(_snapshot);
            CheckSnapshot(context, snapshot, files.Length - 1);
            var sourceDirectIo = CacheModeOption.IsDirect(CacheModeOption.Validate(parse.GetValue(_sourceCache), source: true));
            using var secrets = Secrets.Load(parse, _object);
            var sources = files[..^1].Select(f => Secrets.Resolve(context.ImageOptsNames, f, parse.GetValue(_imageOpts), parse.GetValue(_sourceFormat), secrets)).ToList();
            if (sources.Select(s => s.Format).Distinct().Count() > 1)
            {
                throw new InvalidOptionException("All sources given with --image-opts must name the same driver");
            }

            if (parse.GetValue(_targetIsZero) && parse.GetValue(_noCreate) && parse.GetValue(_backing) is not null)
            {
                // qemu-img 7.2 reports this combination and then exits 0 without copying anything.
                context.Error.WriteLine($"{ProgramName.Value}: Cannot use --target-is-zero when the destination image has a backing file");
                return 0;
            }

            var target = ResolveTarget(context, parse, files[^1], secrets);
            var quiet = parse.GetValue(_quiet);
            var options = new ConvertOptions
            {
                Sources = [.. sources.Select(s => s.Path)],
                SourceKeySecrets = [.. sources.Select(s => s.KeySecret)],
                ForceShare = parse.GetValue(_forceShare),
                SecretProvider = secrets.Get,
                Target = target.Path,
                TargetKeySecret = target.KeySecret,
                SourceFormat = sources[0].Format,
                TargetFormat = target.Format!,
                TargetOptions = KeyValueOptions.Parse(parse.GetValue(_options) ?? []),
                Compress = parse.GetValue(_compress),
                MinSparseSize = sparse is null ? ConvertOptions.DefaultMinSparseSize : SizeText.Parse(sparse, "buffer size for sparse output"),
                NoCreate = parse.GetValue(_noCreate),
                TargetIsZero = parse.GetValue(_targetIsZero),
                Workers = parse.GetValue(_workers),
                OutOfOrderWrites = parse.GetValue(_outOfOrder),
                UntrustedSources = parse.GetValue(_untrusted),
                Snapshot = snapshot,
                TargetCache = CacheMode(parse.GetValue(_cache)),
                SourceDirectIo = sourceDirectIo,
                RateLimit = rateLimit,
                BackingFile = parse.GetValue(_backing),
                BackingFormat = parse.GetValue(_backingFormat),
                Bitmap = parse.GetValue(_bitmap),
                SalvageWarning = !parse.GetValue(_salvage) ? null
                    : quiet ? _ => { }
                    : message => context.Error.WriteLine($"{ProgramName.Value}: warning: {message}"),
                CopyScannedData = parse.GetValue(_copyOffload),
                CopyBitmaps = parse.GetValue(_bitmaps),
                SkipBrokenBitmaps = parse.GetValue(_skipBrokenBitmaps),
                BitmapWarning = message => context.Error.WriteLine($"{ProgramName.Value}: warning: {message}"),
            };

            try
            {
                await RunAsync(context, options, parse.GetValue(_progress) && !quiet, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOptionException e) when (snapshot is not null && e.Message.StartsWith("Failed to load snapshot: snapshot '", StringComparison.Ordinal))
            {
                // QEMU's words for a snapshot the image does not have.
                throw new InvalidOptionException("Failed to load snapshot: Can't find snapshot", e);
            }

            return 0;
        });
        return command;
    }

    private static async Task RunAsync(CliContext context, ConvertOptions options, bool showProgress, CancellationToken cancellationToken)
    {
        if (showProgress)
        {
            await ProgressRenderer.RunAsync(context, $"{string.Join(", ", options.Sources.Select(Path.GetFileName))} → {Path.GetFileName(options.Target)}",
                progress => ImageConverter.ConvertAsync(options, progress, cancellationToken)).ConfigureAwait(false);
        }
        else
        {
            // On this thread: the copy blocks from start to end, and a hop to another thread only adds a wake-up.
            ImageConverter.Convert(options, null, cancellationToken);
        }
    }

    /// <summary>
    /// qemu-img's checks of <c>-l</c>: a <c>snapshot.</c> list is parsed as it is read (its complaint, then which
    /// parameter failed); a plain name cannot be applied to several sources.
    /// </summary>
    private static void CheckSnapshot(CliContext context, string? snapshot, int sourceCount)
    {
        if (snapshot is null)
        {
            return;
        }

        if (snapshot.StartsWith("snapshot.", StringComparison.Ordinal))
        {
            try
            {
                Formats.Qcow2.Qcow2SnapshotSelector.Parse(snapshot);
            }
            catch (InvalidOptionException e)
            {
                context.Error.WriteLine($"{ProgramName.Value}: {e.Message}");
                throw new InvalidOptionException($"Failed in parsing snapshot param '{snapshot}'", e);
            }
        }
        else if (sourceCount > 1)
        {
            throw new InvalidOptionException("No support for concatenating multiple snapshot");
        }
    }

    /// <summary>qemu-img's checks of option combinations, in its order, before anything is opened.</summary>
    private void CheckCombinations(ParseResult parse, bool explicitSparse)
    {
        if (parse.GetValue(_skipBrokenBitmaps) && !parse.GetValue(_bitmaps))
        {
            throw new InvalidOptionException("Use of --skip-broken-bitmaps requires --bitmaps");
        }

        var copyOffload = parse.GetValue(_copyOffload);
        if (copyOffload && parse.GetValue(_compress))
        {
            throw new InvalidOptionException("Cannot enable copy offloading when -c is used");
        }

        if (copyOffload && explicitSparse)
        {
            throw new InvalidOptionException("Cannot enable copy offloading when -S is used");
        }

        if (copyOffload && parse.GetValue(_salvage))
        {
            throw new InvalidOptionException("Cannot use copy offloading in salvaging mode");
        }

        if (parse.GetValue(_noCreate) && !parse.GetValue(_targetImageOpts) && parse.GetValue(_options) is { Length: > 0 })
        {
            // Creation options would be silently ignored on an existing target; qemu-img refuses them.
            throw new InvalidOptionException("-o has no effect when skipping image creation");
        }
    }

    /// <summary>
    /// The target as named: a path in <c>-O</c>'s format, or with <c>--target-image-opts</c> an option list naming an
    /// existing image (so <c>-n</c> is required, and its driver replaces <c>-O</c>; probed when it names none).
    /// </summary>
    private ImageSource ResolveTarget(CliContext context, ParseResult parse, string argument, SecretStore secrets)
    {
        if (!parse.GetValue(_targetImageOpts))
        {
            return new ImageSource(argument, parse.GetValue(_targetFormat)!, null, secrets);
        }

        if (!parse.GetValue(_noCreate))
        {
            throw new InvalidOptionException("--target-image-opts requires use of -n flag");
        }

        var explicitFormat = parse.GetResult(_targetFormat) is { Implicit: false } ? parse.GetValue(_targetFormat) : null;
        var target = Secrets.Resolve(context.ImageOptsNames, argument, imageOpts: true, explicitFormat, secrets);
        ProbedRawWarning.WriteIfProbed(context, target.Path, target.Format, imageOpts: false);
        return target.Format is null ? target with { Format = ImageFormatRegistry.Default.Probe(target.Path).Name } : target;
    }

    /// <summary>qemu-img's <c>-t</c> values; convert's default is <c>unsafe</c>.</summary>
    private static string CacheMode(string? value) => value switch
    {
        null => "unsafe",
        "none" or "off" or "writeback" or "writethrough" or "directsync" or "unsafe" => value,
        _ => throw new InvalidOptionException($"Invalid cache option: {value}"),
    };
}
