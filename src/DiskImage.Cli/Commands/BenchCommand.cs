using System.CommandLine;
using System.Globalization;
using DiskImage.Operations.Bench;
using DiskImage.Options;

namespace DiskImage.Cli.Commands;

/// <summary>
/// <c>diskimg bench [-c COUNT] [-d DEPTH] [-f FMT] [--flush-interval=N] [-n] [--no-drain] [-o OFFSET]
/// [--pattern=P] [-q] [-s BUFSIZE] [-S STEP] [-t CACHE] [-w] [-U] FILE</c>, printing what qemu-img bench prints.
/// </summary>
internal static class BenchCommand
{
    private static readonly Option<int?> s_count = new("-c") { Description = "Number of requests (default 75000)" };
    private static readonly Option<int?> s_depth = new("-d") { Description = "Requests in flight, one worker thread each (default 64)" };
    private static readonly Option<string?> s_format = new("-f") { Description = "Image format (probed when omitted)" };
    private static readonly Option<int?> s_flushInterval = new("--flush-interval") { Description = "Flush after every N writes" };
    private static readonly Option<bool> s_nativeAio = new("-n") { Description = "Native AIO in QEMU; accepted, I/O always runs on worker threads here" };
    private static readonly Option<bool> s_noDrain = new("--no-drain") { Description = "Accepted for compatibility; flushes never wait for a drained queue here" };
    private static readonly Option<string?> s_aio = new("-i") { Description = "AIO backend in QEMU; accepted and ignored" };
    private static readonly Option<string?> s_offset = new("-o") { Description = "Offset of the first request (default 0)" };
    private static readonly Option<string?> s_pattern = new("--pattern") { Description = "Byte value written requests are filled with, decimal or 0x hex (default 0)" };
    private static readonly Option<bool> s_quiet = new("-q") { Description = "Quiet mode (qemu-img bench prints its two lines anyway, and so does this)" };
    private static readonly Option<string?> s_bufferSize = new("-s") { Description = "Bytes per request (default 4096)" };
    private static readonly Option<string?> s_step = new("-S") { Description = "Distance between requests (default: the buffer size)" };
    private static readonly Option<string?> s_cache = new("-t") { Description = "Cache mode: writeback (default), writethrough, none, directsync, unsafe" };
    private static readonly Option<bool> s_write = new("-w") { Description = "Write instead of read" };
    private static readonly Option<bool> s_forceShare = new("-U") { Description = "Open with shared permissions (accepted; no image locking here)" };
    private static readonly Argument<string> s_file = new("filename") { Description = "Image file" };

    public static Command Create(CliContext context)
    {
        var command = new Command("bench", "Run a simple sequential I/O benchmark on an image")
        {
            s_count, s_depth, s_format, s_flushInterval, s_nativeAio, s_noDrain, s_aio, s_offset, s_pattern,
            s_quiet, s_bufferSize, s_step, s_cache, s_write, s_forceShare, s_file,
        };
        command.SetAction(parse =>
        {
            var options = ReadOptions(parse);
            var started = new StartReporter(context.Out);
            var result = ImageBenchmark.Run(parse.GetValue(s_file)!, options, started);
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Run completed in {result.Elapsed.TotalSeconds:0.000} seconds."));
            return 0;
        });
        return command;
    }

    private static ImageBenchmarkOptions ReadOptions(ParseResult parse)
    {
        var defaults = new ImageBenchmarkOptions();
        return new ImageBenchmarkOptions
        {
            Format = parse.GetValue(s_format),
            Count = parse.GetValue(s_count) ?? defaults.Count,
            Depth = parse.GetValue(s_depth) ?? defaults.Depth,
            BufferSize = ParseInt(parse.GetValue(s_bufferSize), "buffer size") ?? defaults.BufferSize,
            Step = ParseInt(parse.GetValue(s_step), "step size"),
            Offset = parse.GetValue(s_offset) is { } offset ? SizeText.Parse(offset, "offset") : 0,
            Write = parse.GetValue(s_write),
            Pattern = ParsePattern(parse.GetValue(s_pattern)),
            FlushInterval = parse.GetValue(s_flushInterval) ?? 0,
            Cache = parse.GetValue(s_cache) is { } cache ? BenchmarkCacheModes.Parse(cache) : BenchmarkCacheMode.Writeback,
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
