using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Nbd;

namespace DiskImage.Cli.Commands;

/// <summary><c>diskimg nbd [OPTIONS] FILE</c>: serves an image over NBD with qemu-nbd's options (no kernel device).</summary>
internal sealed class NbdCommand
{
    private const string ForkedVariable = "DISKIMG_NBD_FORKED";

    private readonly Option<string?> _format = new("--format", "-f") { Description = "Image format (probed when omitted)" };
    private readonly Option<bool> _readOnly = new("--read-only", "-r") { Description = "Export read-only" };
    private readonly Option<string> _exportName = new("--export-name", "-x") { Description = "Export name (default empty)", DefaultValueFactory = _ => "" };
    private readonly Option<string?> _description = new("--description", "-D") { Description = "Export description" };
    private readonly Option<string?> _port = new("--port", "-p") { Description = "TCP port to listen on (default 10809)" };
    private readonly Option<string?> _bind = new("--bind", "-b") { Description = "Address to listen on (default 127.0.0.1; qemu-nbd listens on every address)" };
    private readonly Option<string?> _socket = new("--socket", "-k") { Description = "Listen on a Unix socket at this path instead of TCP" };
    private readonly Option<string?> _shared = new("--shared", "-e") { Description = "Clients served at once (default 1, 0 = unlimited; at most 256, unlike qemu-nbd)" };
    private readonly Option<bool> _persistent = new("--persistent", "-t") { Description = "Keep serving after the last client disconnects" };
    private readonly Option<bool> _fork = new("--fork") { Description = "Go to the background once the server listens" };
    private readonly Option<string?> _pidFile = new("--pid-file") { Description = "Write the server's process id to this file" };
    private readonly Option<bool> _snapshot = new("--snapshot", "-s") { Description = "Writes go to a temporary overlay; the image is never changed" };
    private readonly Option<string?> _loadSnapshot = new("--load-snapshot", "-l") { Description = "Export an internal snapshot, read-only: snapshot.id=ID,snapshot.name=NAME or an ID or name" };
    private readonly Option<string?> _cache = new("--cache") { Description = "Cache mode: none, writeback (default), writethrough, directsync, unsafe" };
    private readonly Option<string?> _discard = new("--discard") { Description = "Discard mode: ignore (default) or unmap" };
    private readonly Option<string?> _detectZeroes = new("--detect-zeroes") { Description = "off (default), on or unmap" };
    private readonly Option<string[]> _bitmap = new("--bitmap", "-B") { Description = "Offer persistent dirty bitmap NAME as meta context qemu:dirty-bitmap:NAME (may repeat)" };
    private readonly Option<bool> _allocationDepth = new("--allocation-depth", "-A") { Description = "Offer the qemu:allocation-depth meta context" };
    private readonly Option<string?> _tlsCreds = new("--tls-creds") { Description = "Id of a tls-creds-x509 or tls-creds-psk object (endpoint=server); clients must use TLS" };
    private readonly Option<string?> _tlsHostname = new("--tls-hostname") { Description = "Server name to check the certificate against when listing exports (as qemu-nbd, only with an export list)" };
    private readonly Option<string[]> _object = Secrets.ObjectOption();
    private readonly Option<bool> _imageOpts = Secrets.ImageOptsOption();
    private readonly Argument<string> _file = new("filename") { Description = "Image file" };

    /// <summary>A new command with its own option objects, so command trees never share state.</summary>
    public static Command Create(CliContext context) => new NbdCommand().Build(context);

    private Command Build(CliContext context)
    {
        _object.Description = "Define an object: secret,id=ID,data=TEXT, tls-creds-x509,id=ID,dir=DIR,endpoint=server,verify-peer=on|off or tls-creds-psk,id=ID,dir=DIR,endpoint=server";
        var command = new Command("nbd", "Serve an image over NBD (qemu-nbd's options; listens on 127.0.0.1 unless -b says otherwise)")
        {
            _format, _readOnly, _exportName, _description, _port, _bind, _socket, _shared, _persistent, _fork, _pidFile,
            _snapshot, _loadSnapshot, _cache, _discard, _detectZeroes, _allocationDepth, _bitmap, _tlsCreds, _tlsHostname, _object, _imageOpts, _file,
        };
        command.SetAction(parse => Run(parse, context));
        return command;
    }

    private static bool IsTlsObject(string definition) =>
        definition.StartsWith("tls-creds-x509", StringComparison.Ordinal) || definition.StartsWith("tls-creds-psk", StringComparison.Ordinal);

    private int Run(ParseResult parse, CliContext context)
    {
        var objects = parse.GetValue(_object) ?? [];
        var tlsObjects = objects.Where(IsTlsObject).Select(NbdTlsCredentials.Parse).ToList();
        var port = ParsePort(parse.GetValue(_port));
        var shared = ParseShared(parse.GetValue(_shared));
        var (ignoreFlushes, writeThrough) = ParseCache(parse.GetValue(_cache));
        var discard = parse.GetValue(_discard) switch
        {
            null or "ignore" or "off" => NbdDiscardMode.Ignore,
            "unmap" or "on" => NbdDiscardMode.Unmap,
            var other => throw new InvalidOptionException($"Invalid discard mode `{other}'"),
        };
        var detectZeroes = parse.GetValue(_detectZeroes) switch
        {
            null or "off" => NbdDetectZeroes.Off,
            "on" => NbdDetectZeroes.On,
            "unmap" => NbdDetectZeroes.Unmap,
            var other => throw new InvalidOptionException($"Parameter 'detect-zeroes' does not accept value '{other}'"),
        };
        if (detectZeroes == NbdDetectZeroes.Unmap && discard != NbdDiscardMode.Unmap)
        {
            throw new InvalidOptionException("--detect-zeroes=unmap can only be used if discard is set to unmap");
        }

        if (parse.GetValue(_socket) is not null && (parse.GetValue(_port) is not null || parse.GetValue(_bind) is not null))
        {
            throw new InvalidOptionException("Cannot use --socket with --port or --bind");
        }

        var activated = NbdListeners.FromSystemd();
        if (activated is not null)
        {
            // As qemu-nbd: an inherited socket replaces -k, -b and -p, and exactly one is served.
            var conflict = parse.GetValue(_socket) is not null ? "Unix socket can't be set when using socket activation"
                : parse.GetValue(_bind) is not null ? "The interface can't be set when using socket activation"
                : parse.GetValue(_port) is not null ? "TCP port number can't be set when using socket activation"
                : activated.Count > 1 ? $"{ProgramName.Value} does not support socket activation with LISTEN_FDS > 1"
                : null;
            if (conflict is not null)
            {
                foreach (var socket in activated)
                {
                    socket.Dispose();
                }

                throw new InvalidOptionException(conflict);
            }
        }

        System.Net.Security.SslServerAuthenticationOptions? tls = null;
        NbdTlsCredentials? tlsPsk = null;
        if (parse.GetValue(_tlsHostname) is not null)
        {
            // qemu-nbd uses the name only for its export-list client mode, which serving never is.
            throw new InvalidOptionException(parse.GetValue(_tlsCreds) is null
                ? "--tls-hostname is not permitted without --tls-creds"
                : "TLS hostname is only supported with export list");
        }

        if (parse.GetValue(_tlsCreds) is { } tlsId)
        {
            var creds = tlsObjects.LastOrDefault(t => t.Id == tlsId) ?? throw new InvalidOptionException($"No TLS credentials with id '{tlsId}'");
            if (creds.IsPsk)
            {
                creds.ValidatePskServer();
                tlsPsk = creds;
            }
            else
            {
                tls = creds.ServerOptions();
            }
        }

        if (parse.GetValue(_fork) && Environment.GetEnvironmentVariable(ForkedVariable) is null)
        {
            return Fork(context);
        }

        if (Environment.GetEnvironmentVariable(ForkedVariable) is not null)
        {
            NbdDaemon.NewSession();
        }

        using var secrets = DiskImage.Options.SecretStore.FromObjects(objects.Where(o => !IsTlsObject(o)));
        var source = Secrets.Resolve(context.ImageOptsNames, parse.GetValue(_file)!, parse.GetValue(_imageOpts), parse.GetValue(_format), secrets);
        // -l exports an internal snapshot, which is always read-only (as qemu-nbd: -l implies -r).
        var loadSnapshot = parse.GetValue(_loadSnapshot);
        var readOnly = parse.GetValue(_readOnly) || loadSnapshot is not null;
        var openOptions = source.Apply(new ImageOpenOptions { ReadOnly = readOnly || parse.GetValue(_snapshot), IgnoreFlushes = ignoreFlushes });
        if (loadSnapshot is not null && parse.GetValue(_snapshot))
        {
            // qemu-nbd looks for the snapshot in -s's temporary overlay, which has none.
            _ = ParseSnapshot(loadSnapshot, context);
            throw new InvalidOptionException("Failed to load snapshot: Can't find snapshot");
        }

        using var image = loadSnapshot is not null
            ? OpenInternalSnapshot(source, ParseSnapshot(loadSnapshot, context), openOptions)
            : parse.GetValue(_snapshot) ? OpenWithOverlay(source, openOptions) : ImageFormatRegistry.Default.Open(source.Path, source.Format, openOptions);

        var export = new NbdExport
        {
            Image = image,
            Name = parse.GetValue(_exportName) ?? "",
            Description = parse.GetValue(_description),
            ReadOnly = readOnly,
            AllocationDepth = parse.GetValue(_allocationDepth),

            // qemu-nbd numbers the bitmaps of its -B options last first.
            Bitmaps = [.. (parse.GetValue(_bitmap) ?? []).Reverse()],
            Discard = discard,
            DetectZeroes = detectZeroes,
            MultiConn = shared != 1,
            WriteThrough = writeThrough,
        };

        // Built before listening, so a missing or inconsistent bitmap is refused before any socket exists.
        var server = CreateServer(export, new NbdServerOptions { MaxConnections = shared, Persistent = parse.GetValue(_persistent), Tls = tls, TlsPsk = tlsPsk });
        var listeners = activated
            ?? (parse.GetValue(_socket) is { } socketPath ? NbdListeners.Unix(socketPath) : NbdListeners.Tcp(parse.GetValue(_bind) ?? "127.0.0.1", port));
        try
        {
            if (parse.GetValue(_pidFile) is { } pidFile)
            {
                File.WriteAllText(pidFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            }

            using var stop = new CancellationTokenSource();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            if (Environment.GetEnvironmentVariable(ForkedVariable) is not null)
            {
                // Tell the waiting parent that the server listens; nothing else is ever written there.
                context.Out.WriteLine("ready");
                context.Out.Flush();
                NbdDaemon.ReleaseStandardStreams();
            }

            server.RunAsync(listeners, stop.Token).GetAwaiter().GetResult();
            image.Flush();
            return 0;
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }

            if (parse.GetValue(_socket) is { } path && listeners.Count > 0 && listeners[0].AddressFamily == AddressFamily.Unix)
            {
                File.Delete(path);
            }
        }
    }

    /// <summary>
    /// <c>--fork</c>: .NET cannot fork, so the same command line runs again as a child, and this process
    /// exits once the child reports that it listens (or exits with the child's failure).
    /// </summary>
    private static int Fork(CliContext context)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var info = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        var args = Environment.GetCommandLineArgs();
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            info.ArgumentList.Add(args[0]);
        }

        foreach (var argument in args.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment[ForkedVariable] = "1";
        using var child = Process.Start(info) ?? throw new InvalidOperationException("could not start the server process");
        var line = child.StandardOutput.ReadLine();
        if (line == "ready")
        {
            return 0;
        }

        child.WaitForExit();
        context.Error.Flush();
        return child.ExitCode == 0 ? 1 : child.ExitCode;
    }

    /// <summary>
    /// The server over <paramref name="export"/>. An inconsistent bitmap is refused in one line: qemu-nbd reports
    /// it through a fatal error, which drops the hint qemu-img prints after it.
    /// </summary>
    private static NbdServer CreateServer(NbdExport export, NbdServerOptions options)
    {
        try
        {
            return new NbdServer(export, options);
        }
        catch (InconsistentBitmapException e)
        {
            throw new UnsupportedFeatureException(e.Message, e);
        }
    }

    /// <summary><c>-l</c>'s value; a bad key is reported in qemu-nbd's two lines.</summary>
    private static Qcow2SnapshotSelector ParseSnapshot(string text, CliContext context)
    {
        try
        {
            return Qcow2SnapshotSelector.Parse(text);
        }
        catch (InvalidOptionException e)
        {
            context.Error.WriteLine($"{ProgramName.Value}: {e.Message}");
            throw new InvalidOptionException($"Failed in parsing snapshot param `{text}'", e);
        }
    }

    /// <summary>The internal snapshot <paramref name="selector"/> names, read-only; a missing one in qemu-nbd's words.</summary>
    private static IDiskImage OpenInternalSnapshot(ImageSource source, Qcow2SnapshotSelector selector, ImageOpenOptions options) =>
        DiskImage.Operations.Snapshots.ImageSnapshots.OpenSnapshot(source.Path, source.Format, selector, options);

    /// <summary><c>-s</c>: a temporary qcow2 overlay over the image, removed from the directory as soon as it is open.</summary>
    private static IDiskImage OpenWithOverlay(ImageSource source, ImageOpenOptions options)
    {
        var backingFormat = source.Format ?? ImageFormatRegistry.Default.Probe(source.Path).Name;
        var backingPath = Path.GetFullPath(source.Path);
        long size;
        using (var probe = ImageFormatRegistry.Default.Open(source.Path, backingFormat, options with { ReadOnly = true }))
        {
            size = probe.Length;
        }

        var overlay = Path.Combine(Path.GetTempPath(), $"diskimg-nbd-snapshot-{Guid.NewGuid():N}.qcow2");
        var qcow2 = ImageFormatRegistry.Default.Get("qcow2");
        qcow2.Create(overlay, new Qcow2CreateOptions { Size = size, BackingFile = backingPath, BackingFormat = backingFormat });
        try
        {
            return ImageFormatRegistry.Default.Open(overlay, "qcow2", options with { ReadOnly = false });
        }
        finally
        {
            File.Delete(overlay);
        }
    }

    private static int ParsePort(string? text)
    {
        if (text is null)
        {
            return NbdServerOptions.DefaultPort;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new InvalidOptionException($"Invalid port number `{text}'");
        }

        return port;
    }

    private static int ParseShared(string? text)
    {
        if (text is null)
        {
            return 1;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var shared))
        {
            throw new InvalidOptionException($"Invalid shared device number '{text}'");
        }

        return shared;
    }

    private static (bool IgnoreFlushes, bool WriteThrough) ParseCache(string? mode) => mode switch
    {
        null or "writeback" or "none" => (false, false),
        "writethrough" or "directsync" => (false, true),
        "unsafe" => (true, false),
        _ => throw new InvalidOptionException($"Invalid cache mode `{mode}'"),
    };
}
