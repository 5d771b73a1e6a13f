using System.CommandLine;
using System.Globalization;
using DiskImage.Operations.Bench;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary>
/// <c>diskimg bench [--object ...] [--image-opts] [-c COUNT] [-d DEPTH] [-f FMT] [--flush-interval=N] [-n] [--no-drain] [-o OFFSET]
/// [--pattern=P] [-q] [-s BUFSIZE] [-S STEP] [-t CACHE] [-w] [-U] FILE</c>, printing what qemu-img bench prints.
/// </summary>
internal sealed class BenchCommand
{
    private readonly Option<int?> _count = new("-c") { Description = "Number of requests (default 75000)" };
    private readonly Option<int?> _depth = new("-d") { Description = "Requests in flight, one worker thread each (default 64)" };
    private readonly Option<string?> _format = new("-f") { Description = "Image format (probed when omitted)" };
    private readonly Option<int?> _flushInterval = new("--flush-interval") { Description = "Flush after every N writes" };
    private readonly Option<bool> _nativeAio = new("-n") { Description = "Native AIO in QEMU; accepted, I/O always runs on worker threads here" };
    private readonly Option<bool> _noDrain = new("--no-drain") { Description = "Accepted for compatibility; flushes never wait for a drained queue here" };
    private readonly Option<string?> _aio = new("-i") { Description = "AIO backend in QEMU; accepted and ignored" };
    private readonly Option<string?> _offset = new("-o") { Description = "Offset of the first request (default 0)" };
    private readonly Option<string?> _pattern = new("--pattern") { Description = "Byte value written requests are filled with, decimal or 0x hex (default 0)" };
    private readonly Option<bool> _quiet = new("-q") { Description = "Quiet mode (qemu-img bench prints its two lines anyway, and so does this)" };
    private readonly Option<string?> _bufferSize = new("-s") { Description = "Bytes per request (default 4096)" };
    private readonly Option<string?> _step = new("-S") { Description = "Distance between requests (default: the buffer size)" };
    private readonly Option<string?> _cache = new("-t") { Description = "Cache mode: writeback (default), writethrough, none, directsync, unsafe" };
    private readonly Option<bool> _write = new("-w") { Description = "Write instead of read" };
    private readonly Option<bool> _forceShare = ForceShareOption.Create("the image");
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new BenchCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("bench", "Run a simple sequential I/O benchmark on an image")
        {
            _count, _depth, _format, _flushInterval, _nativeAio, _noDrain, _aio, _offset, _pattern,
            _quiet, _bufferSize, _step, _cache, _write, _forceShare, _file, _object, _imageOpts,
        };
        command.SetAction(parse =>
        {
            using var secrets = Secrets.Load(parse, _object);
            var source = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
            var options = ReadOptions(parse) with { Format = source.Format, SecretProvider = secrets.Get, KeySecret = source.KeySecret };
            var started = new StartReporter(context.Out);
            var result = ImageBenchmark.Run(source.Path, options, started, context.Cancellation);
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Run completed in {result.Elapsed.TotalSeconds:0.000} seconds."));
            return 0;
        });
        return command;
    }

    private ImageBenchmarkOptions ReadOptions(ParseResult parse)
    {
        var defaults = new ImageBenchmarkOptions();
        return new ImageBenchmarkOptions
        {
            Format = parse.GetValue(_format),
            ForceShare = parse.GetValue(_forceShare),
            Count = parse.GetValue(_count) ?? defaults.Count,
            Depth = parse.GetValue(_depth) ?? defaults.Depth,
            BufferSize = ParseInt(parse.GetValue(_bufferSize), "buffer size") ?? defaults.BufferSize,
            Step = ParseInt(parse.GetValue(_step), "step size"),
            Offset = parse.GetValue(_offset) is { } offset ? SizeText.Parse(offset, "offset") : 0,
            Write = parse.GetValue(_write),
            Pattern = ParsePattern(parse.GetValue(_pattern)),
            FlushInterval = parse.GetValue(_flushInterval) ?? 0,
            Cache = parse.GetValue(_cache) is { } cache ? BenchmarkCacheModes.Parse(cache) : BenchmarkCacheMode.Writeback,
        };
    }

    private static int? ParseInt(string? text, string what)
    {
        if (text is null)
        {
            return null;
        }

        var value = SizeText.Parse(text, what);
        return value <= int.MaxValue ? (int)value : throw new InvalidOptionException($"Invalid {what} specified");
    }

    private static byte ParsePattern(string? text)
    {
        if (text is null)
        {
            return 0;
        }

        var hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        var digits = hex ? text[2..] : text;
        var style = hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None;
        return byte.TryParse(digits, style, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidOptionException("Invalid pattern byte specified");
    }

    /// <summary>Prints qemu-img bench's opening lines on the calling thread, once the image is open.</summary>
    private sealed class StartReporter(TextWriter output) : IProgress<ImageBenchmarkOptions>
    {
        public void Report(ImageBenchmarkOptions value)
        {
            var kind = value.Write ? "write" : "read";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Sending {value.Count} {kind} requests, {value.BufferSize} bytes each, {value.Depth} in parallel (starting at offset {value.Offset}, step size {value.EffectiveStep})"));
            if (value.FlushInterval > 0)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Sending flush every {value.FlushInterval} requests"));
            }
        }
    }
}
