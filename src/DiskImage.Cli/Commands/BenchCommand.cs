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
    private readonly Option<string?> _count = new("-c") { Description = "Number of requests (default 75000)" };
    private readonly Option<string?> _depth = new("-d") { Description = "Requests in flight, one worker thread each (default 64)" };
    private readonly Option<string?> _format = new("-f") { Description = "Image format (probed when omitted)" };
    private readonly Option<string?> _flushInterval = new("--flush-interval") { Description = "Flush after every N writes" };
    private readonly Option<bool> _nativeAio = new("-n") { Description = "Native AIO in QEMU; accepted, I/O always runs on worker threads here" };
    private readonly Option<bool> _noDrain = new("--no-drain") { Description = "Accepted for compatibility; flushes never wait for a drained queue here" };
    private readonly Option<string?> _aio = new("-i") { Description = "AIO backend in QEMU (threads, native, io_uring); checked, I/O always runs on worker threads here" };
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
            CheckNativeAio(parse, options, source.Path);
            if (options.Write)
            {
                ProbedRawWarning.WriteIfProbed(context, source.Path, source.Format, imageOpts: false);
            }

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
            Count = ParseCount(parse.GetValue(_count), int.MaxValue, "Invalid request count specified") ?? defaults.Count,
            Depth = ParseCount(parse.GetValue(_depth), int.MaxValue, "Invalid queue depth specified") ?? defaults.Depth,
            BufferSize = ParseInt(parse.GetValue(_bufferSize), "buffer size") ?? defaults.BufferSize,
            // A step of 0 means "the buffer size", as in qemu-img.
            Step = ParseInt(parse.GetValue(_step), "step_size") is { } step and not 0 ? step : null,
            Offset = parse.GetValue(_offset) is { } offset ? SizeText.Parse(offset, "offset") : 0,
            Write = parse.GetValue(_write),
            Pattern = ParsePattern(parse.GetValue(_pattern)),
            FlushInterval = ParseCount(parse.GetValue(_flushInterval), int.MaxValue, "Invalid flush interval specified") ?? 0,
            Cache = parse.GetValue(_cache) is { } cache ? ParseCache(cache) : BenchmarkCacheMode.Writeback,
        };
    }

    /// <summary>--pattern: a byte, read as qemu-img reads counts.</summary>
    private static byte ParsePattern(string? text) => (byte)(ParseCount(text, 0xff, "Invalid pattern byte specified") ?? 0);

    private static int? ParseInt(string? text, string what) =>
        text is null ? null : (int)SizeText.ParseInRange(text, what, 0, int.MaxValue);

    /// <summary>qemu-img's <c>-t</c> check for bench, in its words.</summary>
    private static BenchmarkCacheMode ParseCache(string text)
    {
        try
        {
            return BenchmarkCacheModes.Parse(text);
        }
        catch (InvalidOptionException)
        {
            throw new InvalidOptionException("Invalid cache mode");
        }
    }

    /// <summary>
    /// <c>-n</c> (or <c>-i native</c>) asks for Linux native AIO, which QEMU opens only with O_DIRECT; the check and
    /// its words are QEMU's. The I/O itself runs on worker threads either way.
    /// </summary>
    private void CheckNativeAio(ParseResult parse, ImageBenchmarkOptions options, string path)
    {
        var aio = parse.GetValue(_aio);
        if (aio is not null and not ("threads" or "native" or "io_uring"))
        {
            throw new InvalidOptionException($"Invalid aio option: {aio}");
        }

        var native = aio == "native" || (aio is null && parse.GetValue(_nativeAio));
        if (native && options.Cache is not (BenchmarkCacheMode.None or BenchmarkCacheMode.Directsync))
        {
            throw new InvalidOptionException($"Could not open '{path}': aio=native was specified, but it requires cache.direct=on, which was not specified.");
        }
    }

    /// <summary>
    /// A count as qemu-img reads it (qemu_strtoul, base 0: decimal, 0x hex, leading-0 octal; a minus sign wraps
    /// round, so it is too large), at most <paramref name="max"/>; <paramref name="error"/> otherwise.
    /// </summary>
    private static int? ParseCount(string? text, int max, string error)
    {
        if (text is null)
        {
            return null;
        }

        var span = text.TrimStart(' ', '\t', '\n', '\v', '\f', '\r');
        var negative = false;
        if (span.Length > 0 && span[0] is '+' or '-')
        {
            negative = span[0] == '-';
            span = span[1..];
        }

        var hex = span.Length > 1 && span[0] == '0' && span[1] is 'x' or 'X';
        var style = hex ? 16 : span.Length > 1 && span[0] == '0' ? 8 : 10;
        var digits = hex ? span[2..] : style == 8 ? span[1..] : span;
        if (digits.Length == 0)
        {
            throw new InvalidOptionException(error);
        }

        ulong value = 0;
        foreach (var c in digits)
        {
            var digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiHexDigit(c) ? (char.ToLowerInvariant(c) - 'a') + 10 : int.MaxValue;
            if (digit >= style || value > (ulong.MaxValue - (ulong)digit) / (ulong)style)
            {
                throw new InvalidOptionException(error);
            }

            value = (value * (ulong)style) + (ulong)digit;
        }

        return (negative && value != 0) || value > (ulong)max ? throw new InvalidOptionException(error) : (int)value;
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
