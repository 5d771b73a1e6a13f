using System.CommandLine;
using DiskImage.Cli.Rendering;
using DiskImage.Operations.Conversion;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary>
/// <c>diskimg convert [-f fmt] [-O fmt] [-o opts] [-c] [-S size] [-n] [--target-is-zero] [-p] [-q] [-m N] [-W] SRC... DST</c>.
/// </summary>
internal static class ConvertCommand
{
    private static readonly Option<string?> s_sourceFormat = new("-f") { Description = "Source format (probed per source when omitted)" };
    private static readonly Option<string> s_targetFormat = new("-O") { Description = "Target format", DefaultValueFactory = _ => "raw" };
    private static readonly Option<string[]> s_options = new("-o") { Description = "Target format options, key=value[,key=value...] (may repeat)" };
    private static readonly Option<bool> s_compress = new("-c") { Description = "Compress the target's clusters" };
    private static readonly Option<string?> s_sparse = new("-S") { Description = "Zero runs at least this long are not written (default 4k; 0 fully allocates)" };
    private static readonly Option<bool> s_noCreate = new("-n") { Description = "Use the existing target; do not create it" };
    private static readonly Option<bool> s_targetIsZero = new("--target-is-zero") { Description = "The existing target reads as zeroes (with -n)" };
    private static readonly Option<bool> s_progress = new("-p") { Description = "Show progress" };
    private static readonly Option<bool> s_quiet = new("-q") { Description = "Quiet" };
    private static readonly Option<int> s_workers = new("-m") { Description = "Parallel workers (1-16)", DefaultValueFactory = _ => ConvertOptions.DefaultWorkers };
    private static readonly Option<bool> s_outOfOrder = new("-W") { Description = "Allow out-of-order writes" };
    private static readonly Option<bool> s_forceShare = new("-U", "--force-share") { Description = "Open sources without locking (always the case here)" };
    private static readonly Option<string?> s_cache = new("-t") { Description = "Target cache mode: unsafe (default, no flushes), writeback, none, writethrough, directsync" };
    private static readonly Option<string?> s_sourceCache = new("-T") { Description = "Source cache mode (accepted for compatibility)" };
    private static readonly Option<bool> s_untrusted = UntrustedOption.Create();
    private static readonly Option<string?> s_snapshot = new("-l") { Description = "Read the sources from an internal snapshot: snapshot.name=NAME, snapshot.id=ID or NAME" };
    private static readonly Argument<string[]> s_files = new("files") { Description = "Source images, then the target", Arity = ArgumentArity.OneOrMore };

    private static readonly Option<string[]> s_object = Secrets.ObjectOption();
    private static readonly Option<bool> s_imageOpts = Secrets.ImageOptsOption();

    public static Command Create(CliContext context)
    {
        var command = new Command("convert", "Convert, concatenate or flatten images into a new image")
        {
            s_sourceFormat, s_targetFormat, s_options, s_compress, s_sparse, s_noCreate, s_targetIsZero,
            s_progress, s_quiet, s_workers, s_outOfOrder, s_forceShare, s_cache, s_sourceCache, s_untrusted, s_snapshot, s_files, s_object, s_imageOpts,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var files = parse.GetValue(s_files)!;
            if (files.Length < 2)
            {
                throw new InvalidOptionException("Must specify image file name");
            }

            var sparse = parse.GetValue(s_sparse);
            var secrets = Secrets.Load(parse, s_object);
            var sources = files[..^1].Select(f => Secrets.Resolve(f, parse.GetValue(s_imageOpts), parse.GetValue(s_sourceFormat), secrets)).ToList();
            if (sources.Select(s => s.Format).Distinct().Count() > 1)
            {
                throw new InvalidOptionException("All sources given with --image-opts must name the same driver");
            }

            var options = new ConvertOptions
            {
                Sources = [.. sources.Select(s => s.Path)],
                SourceKeySecrets = [.. sources.Select(s => s.KeySecret)],
                SecretProvider = secrets.Get,
                Target = files[^1],
                SourceFormat = sources[0].Format,
                TargetFormat = parse.GetValue(s_targetFormat)!,
                TargetOptions = KeyValueOptions.Parse(parse.GetValue(s_options) ?? []),
                Compress = parse.GetValue(s_compress),
                MinSparseSize = sparse is null ? ConvertOptions.DefaultMinSparseSize : SizeText.Parse(sparse, "buffer size for sparse output"),
                NoCreate = parse.GetValue(s_noCreate),
                TargetIsZero = parse.GetValue(s_targetIsZero),
                Workers = parse.GetValue(s_workers),
                OutOfOrderWrites = parse.GetValue(s_outOfOrder),
                UntrustedSources = parse.GetValue(s_untrusted),
                Snapshot = parse.GetValue(s_snapshot),
                TargetCache = CacheMode(parse.GetValue(s_cache)),
            };

            if (parse.GetValue(s_progress) && !parse.GetValue(s_quiet))
            {
                await ProgressRenderer.RunAsync(context, $"{string.Join(", ", options.Sources.Select(Path.GetFileName))} → {Path.GetFileName(options.Target)}",
                    progress => ImageConverter.ConvertAsync(options, progress, cancellationToken)).ConfigureAwait(false);
            }
            else
            {
                await ImageConverter.ConvertAsync(options, null, cancellationToken).ConfigureAwait(false);
            }

            return 0;
        });
        return command;
    }

    /// <summary>qemu-img's <c>-t</c> values; convert's default is <c>unsafe</c>.</summary>
    private static string CacheMode(string? value) => value switch
    {
        null => "unsafe",
        "none" or "off" or "writeback" or "writethrough" or "directsync" or "unsafe" => value,
        _ => throw new InvalidOptionException($"Invalid cache option: {value}"),
    };
}
