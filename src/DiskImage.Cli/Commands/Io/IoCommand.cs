using System.CommandLine;
using DiskImage.Operations.Io;

namespace DiskImage.Cli.Commands.Io;

/// <summary>
/// <c>diskimg io [OPTIONS] [-c CMD]... [FILE]</c>: qemu-io's command line. Options that only tune QEMU's
/// internals (<c>-n</c>, <c>-k</c>, <c>-i</c>, <c>-m</c>, <c>-T</c> and cache modes other than
/// <c>unsafe</c>) are checked as qemu-io checks them and otherwise change nothing.
/// </summary>
internal sealed class IoCommand
{
    private readonly Option<string[]> _commands = new("-c", "--cmd") { Description = "A qemu-io command (see -c help); repeatable" };
    private readonly Option<string[]> _format = new("-f", "--format") { Description = "Image format (probed when omitted)" };
    private readonly Option<bool> _readOnly = new("-r", "--read-only") { Description = "Open the image read-only" };
    private readonly Option<bool> _snapshot = new("-s", "--snapshot") { Description = "Send writes to a temporary overlay; the image is not changed" };
    private readonly Option<bool> _noCache = new("-n", "--nocache") { Description = "Accepted for qemu-io compatibility (short for -t none)" };
    private readonly Option<bool> _copyOnRead = new("-C", "--copy-on-read") { Description = "Copy-on-read: reads copy what they get from the backing file into the image" };
    private readonly Option<bool> _misalign = new("-m", "--misalign") { Description = "Accepted for qemu-io compatibility (buffer alignment)" };
    private readonly Option<bool> _nativeAio = new("-k", "--native-aio") { Description = "Accepted for qemu-io compatibility (needs -t none or -n)" };
    private readonly Option<string[]> _aio = new("-i", "--aio") { Description = "AIO engine: threads, native or io_uring (all behave alike here)" };
    private readonly Option<string[]> _cache = new("-t", "--cache") { Description = "Cache mode: none, writeback, writethrough, directsync or unsafe (unsafe drops flushes)" };
    private readonly Option<string[]> _discard = new("-d", "--discard") { Description = "Discard mode: unmap/on passes discards on, ignore/off drops them" };
    private readonly Option<string[]> _trace = new("-T", "--trace") { Description = "Trace events to enable (none exist here; each named one is warned about)" };
    private readonly Argument<string?> _file = new("filename") { Description = "Image file (optional: commands may open one)", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _forceShare = ForceShareOption.Create("the image (with -r)");
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new IoCommand().Build(context);

    private Command Build(CliContext context)
    {
        var command = new Command("io", "Run qemu-io commands against an image")
        {
            _commands, _format, _readOnly, _snapshot, _noCache, _copyOnRead, _misalign, _nativeAio, _aio, _cache, _discard, _trace,
            _forceShare, _file, _object, _imageOpts,
        };
        command.SetAction(parse => Run(parse, context));
        return command;
    }

    private int Run(ParseResult parse, CliContext context)
    {
        if (IoModeCheck.Complaint(Last(parse, _discard), Last(parse, _aio), Last(parse, _cache)) is { } complaint)
        {
            context.Error.WriteLine($"{ProgramName.Value}: {complaint}");
            return 1;
        }

        var file = parse.GetValue(_file);
        var imageOpts = parse.GetValue(_imageOpts);
        if (imageOpts && Last(parse, _format) is not null)
        {
            context.Error.WriteLine($"{ProgramName.Value}: --image-opts and -f are mutually exclusive");
            return 1;
        }

        var cache = Last(parse, _cache) ?? (parse.GetValue(_noCache) ? "none" : null);
        var nativeAio = parse.GetValue(_nativeAio) || Last(parse, _aio) == "native";
        if (file is not null && nativeAio && !QemuIoOpenModes.IsDirect(cache))
        {
            context.Error.WriteLine($"{ProgramName.Value}: can't open device {file}: aio=native was specified, but it requires cache.direct=on, which was not specified.");
            return 1;
        }

        using var secrets = Secrets.Load(parse, _object);
        ImageSource? source;
        try
        {
            source = file is null ? null
                : Secrets.Resolve(context.ImageOptsNames, imageOpts ? ShortFormBooleans.Expand(file, context.Error) : file, imageOpts, Last(parse, _format), secrets);
        }
        catch (InvalidOptionException e) when (imageOpts && e.InnerException is DiskImageException inner)
        {
            // qemu-io reports an option list it cannot use as a failed open, naming no device.
            var refusal = inner is InvalidOptionException && !parse.GetValue(_readOnly) ? ReadOnlyDriverRefusal.Of(file!) : null;
            context.Error.WriteLine($"{ProgramName.Value}: can't open: {refusal ?? inner.Message}");
            return 1;
        }

        QemuIoOpenModes.TryCache(cache ?? "writeback", out var ignoreFlushes);
        QemuIoOpenModes.TryDiscard(Last(parse, _discard) ?? "unmap", out var ignoreDiscards);
        var options = new IoOptions
        {
            Path = source?.Path,
            Format = source?.Format,
            SecretProvider = secrets.Get,
            KeySecret = source?.KeySecret,
            NamedByOptions = imageOpts,
            ReadOnly = parse.GetValue(_readOnly),
            Snapshot = parse.GetValue(_snapshot),
            ForceShare = parse.GetValue(_forceShare),
            CopyOnRead = parse.GetValue(_copyOnRead),
            IgnoreFlushes = ignoreFlushes,
            DirectIo = QemuIoOpenModes.IsDirect(cache),
            WriteThrough = cache is "writethrough" or "directsync",
            DefaultCache = cache is null,
            IgnoreDiscards = ignoreDiscards,
            Commands = parse.GetValue(_commands) ?? [],
        };

        // qemu-io's standard output is block-buffered when it is not a terminal, so its error lines come
        // first in a merged stream (as QEMU's iotests record them); the same is done here.
        var realStdout = ReferenceEquals(context.Out, Console.Out) && Console.IsOutputRedirected;
        using var stdout = new BlockBufferedWriter(context.Out, realStdout ? BlockBufferedWriter.BlockSize : 0);

        // Without -c, qemu-io reads commands from standard input, prompting for each line.
        var aborted = false;
        Action<IoCommandOutcome> report = outcome =>
        {
            foreach (var line in outcome.Lines)
            {
                switch (line.Stream)
                {
                    case IoStream.Output:
                        stdout.WriteLine(line.Text);
                        break;
                    case IoStream.Diagnostic:
                        context.Error.WriteLine(line.Text);
                        break;
                    default:
                        context.Error.WriteLine($"{ProgramName.Value}: {line.Text}");
                        break;
                }
            }

            if (outcome.FlushOutput)
            {
                stdout.Flush();
            }

            // Only a real process raises signals in itself; an in-process run (tests) must not die.
            if (outcome.Signal > 0 && ReferenceEquals(context.Out, Console.Out))
            {
                ProcessSignals.Raise(outcome.Signal);
            }

            aborted |= outcome.Abort;
            if (outcome.Abort && ReferenceEquals(context.Out, Console.Out))
            {
                // abort(3) ends the process here, with the image still open: nothing is closed cleanly, so persistent
                // bitmaps stay in_use (inconsistent) as QEMU leaves them, and buffered output is lost.
                stdout.Discard();
                ProcessSignals.Abort();
            }
        };
        var ok = options.Commands.Count > 0 ? ImageIo.Run(options, report) : ImageIo.Run(options, PromptedLines(stdout, Console.In), report);
        if (aborted)
        {
            // abort(3): what standard output still buffers is lost, and the process ends by SIGABRT.
            stdout.Discard();
            if (ReferenceEquals(context.Out, Console.Out))
            {
                ProcessSignals.Abort();
            }

            return 134;
        }

        return ok ? 0 : 1;
    }

    /// <summary>qemu-io takes the last of a repeated option.</summary>
    private static string? Last(ParseResult parse, Option<string[]> option) => parse.GetValue(option) is { Length: > 0 } values ? values[^1] : null;

    /// <summary>Lines of <paramref name="input"/>, each requested after qemu-io's prompt (output flushed first, left standing at the end).</summary>
    private static IEnumerable<string> PromptedLines(BlockBufferedWriter output, TextReader input)
    {
        while (true)
        {
            output.Write("qemu-io> ");
            output.Flush();
            var line = input.ReadLine();
            if (line is null)
            {
                yield break;
            }

            yield return line;
        }
    }
}
