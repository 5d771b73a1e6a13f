using System.Globalization;

namespace DiskImage.Nbd.Client;

/// <summary>
/// qemu's older NBD file names, still used by scripts: <c>nbd:unix:PATH[:exportname=NAME]</c> and
/// <c>nbd:HOST:PORT[:exportname=NAME]</c> (an IPv6 host in brackets).
/// </summary>
internal static class NbdLegacyName
{
    private const string ExportMarker = ":exportname=";

    public static NbdUri Parse(string text)
    {
        if (!text.StartsWith("nbd:", StringComparison.Ordinal))
        {
            throw new InvalidOptionException("File name string for NBD must start with 'nbd:'");
        }

        // As qemu does, the export name is everything after the first ":exportname=", so a socket path may not hold it.
        var spec = text["nbd:".Length..];
        var export = "";
        var marker = spec.IndexOf(ExportMarker, StringComparison.Ordinal);
        if (marker >= 0)
        {
            export = spec[(marker + ExportMarker.Length)..];
            spec = spec[..marker];
            if (export.Length == 0)
            {
                // qemu stops parsing at an empty export name, so the name then has no server at all.
                throw new InvalidOptionException("NBD server address missing");
            }
        }

        if (spec.Length == 0)
        {
            throw new InvalidOptionException("NBD server address missing");
        }

        if (spec.StartsWith("unix:", StringComparison.Ordinal))
        {
            var path = spec["unix:".Length..];
            // An empty path is refused by the connection attempt, as in qemu (no socket can have that name).
            return path.Length == 0
                ? throw new ImageAccessException("Failed to connect to '': Connection refused")
                : new NbdUri(null, 0, path, export);
        }

        var colon = spec.LastIndexOf(':');
        if (colon <= 0 || (spec.StartsWith('[') && spec[colon - 1] != ']'))
        {
            throw new InvalidOptionException($"error parsing address '{spec}'");
        }

        var host = spec[..colon].Trim('[', ']');
        if (host.Length == 0 || !int.TryParse(spec[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is 0 or > 65535)
        {
            throw new InvalidOptionException($"error parsing address '{spec}'");
        }

        return new NbdUri(host, port, null, export);
    }
}
