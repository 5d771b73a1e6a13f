using System.CommandLine;
using DiskImage.Formats;
using DiskImage.Options;

namespace DiskImage.Cli;

/// <summary>
/// qemu-img's secret plumbing shared by every verb: <c>--object secret,id=ID,data=TEXT|file=PATH</c>
/// definitions and <c>--image-opts</c> file names (<c>driver=qcow2,file.filename=PATH,encrypt.key-secret=ID</c>).
/// A verb declares the two options with <see cref="ObjectOption"/> and <see cref="ImageOptsOption"/>,
/// then turns each file argument into an <see cref="ImageSource"/> with <see cref="Resolve"/>, which records option lists in the command line's <see cref="ImageOptsNames"/>.
/// </summary>
internal static class Secrets
{
    /// <summary>A new <c>--object</c> option (repeatable).</summary>
    public static Option<string[]> ObjectOption() => new("--object")
    {
        Description = "Define an object, e.g. secret,id=ID,data=TEXT, secret,id=ID,file=PATH[,format=raw|base64] or throttle-group,id=ID,x-bps-read=N",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
        HelpName = "properties",
    };

    /// <summary>A new <c>--image-opts</c> flag: file names are option lists rather than paths.</summary>
    public static Option<bool> ImageOptsOption() => new("--image-opts")
    {
        Description = "Treat file names as option lists: driver=FMT,file.filename=PATH,encrypt.key-secret=ID",
    };

    /// <summary>The secrets defined with <c>--object</c>.</summary>
    public static SecretStore Load(ParseResult parse, Option<string[]> objects)
    {
        // TLS credentials for NBD exports are objects too; they are registered where NBD URIs find them.
        var all = parse.GetValue(objects) ?? [];
        foreach (var tls in all.Where(IsTlsCredentials))
        {
            DiskImage.Nbd.Client.NbdStorage.RegisterCredentials(DiskImage.Nbd.NbdTlsCredentials.Parse(tls));
        }

        // Throttle groups are defined by the store too, in the order given, and live as long as it.
        var store = SecretStore.FromObjects(all.Where(o => !IsTlsCredentials(o)));

        // The curl drivers look their cookie and password secrets up by id when a URL is opened.
        DiskImage.IO.Storage.UseSecrets(store.Get);
        return store;
    }

    /// <summary>
    /// Why the last of <paramref name="definitions"/> defines no object after the ones before it (QEMU's words), or
    /// null: the same reading <see cref="Load"/> does, for qemu-io, which creates each object as its option loop meets it.
    /// </summary>
    public static string? Complaint(IReadOnlyList<string> definitions)
    {
        try
        {
            foreach (var tls in definitions.Where(IsTlsCredentials))
            {
                _ = DiskImage.Nbd.NbdTlsCredentials.Parse(tls);
            }

            using var store = SecretStore.FromObjects(definitions.Where(o => !IsTlsCredentials(o)));
            return null;
        }
        catch (DiskImageException e)
        {
            return e.Message;
        }
    }

    /// <summary>Whether an <c>--object</c> definition is a <c>tls-creds-x509</c> or <c>tls-creds-psk</c> object.</summary>
    public static bool IsTlsCredentials(string definition) =>
        definition.StartsWith("tls-creds-x509,", StringComparison.Ordinal) || definition.StartsWith("tls-creds-psk,", StringComparison.Ordinal);

    /// <summary>
    /// Turns a file argument into a path, format and key secret: as given, or parsed as an option list
    /// with <c>--image-opts</c> (where <c>-f</c> is not allowed, as in qemu-img).
    /// </summary>
    public static ImageSource Resolve(ImageOptsNames names, string argument, bool imageOpts, string? format, SecretStore secrets)
    {
        if (!imageOpts)
        {
            return new ImageSource(argument, format, null, secrets);
        }

        if (format is not null)
        {
            throw new InvalidOptionException("--image-opts and --format are mutually exclusive");
        }

        ImageOpts opts;
        try
        {
            opts = ImageOpts.Parse(argument);
        }
        catch (DiskImageException e)
        {
            throw new InvalidOptionException($"Could not open '{argument}': {e.Message}", e);
        }

        names.Remember(opts.OpenName, argument);
        return new ImageSource(opts.OpenName, opts.Driver, opts.KeySecret, secrets);
    }
}

/// <summary>An image named on the command line: where it is, its format (null = probe) and the secret that unlocks it.</summary>
internal sealed record ImageSource(string Path, string? Format, string? KeySecret, SecretStore Secrets)
{
    /// <summary><paramref name="options"/> with the secret lookup and key secret filled in.</summary>
    public ImageOpenOptions Apply(ImageOpenOptions options) => options with { SecretProvider = Secrets.Get, KeySecret = KeySecret ?? options.KeySecret };
}
