using System.Globalization;
using DiskImage.Options;

namespace DiskImage.Formats.Filters.LogWrites;

/// <summary>
/// The blklogwrites node's own options in a <c>json:</c> or <c>--image-opts</c> name: its <c>log</c> child (a file, or
/// raw over a file) and <c>log-append</c>, <c>log-sector-size</c>, <c>log-super-update-interval</c>, checked for form as
/// QEMU absorbs them. They travel to the open as format options under the keys below.
/// </summary>
internal static class LogWritesNode
{
    public const string LogKey = "blklogwrites.log";
    public const string AppendKey = "log-append";
    public const string SectorSizeKey = "log-sector-size";
    public const string IntervalKey = "log-super-update-interval";

    /// <summary>
    /// Moves the node's options from <paramref name="options"/> to <paramref name="taken"/>; returns the members they add
    /// to the node's JSON name (the log child and the options QEMU counts as shaping what is read).
    /// </summary>
    public static List<KeyValuePair<string, string?>> Take(Dictionary<string, JsonScalar> options, Dictionary<string, string> taken)
    {
        var display = new List<KeyValuePair<string, string?>>();
        if (options.TryGetValue("log", out var reference))
        {
            throw new InvalidOptionException($"Cannot find device='{reference.Text}' nor node-name='{reference.Text}'");
        }

        if (options.Remove(AppendKey, out var append))
        {
            taken[AppendKey] = KeyValueOptions.ParseBool(AppendKey, append.Text) ? "on" : "off";
            display.Add(new(AppendKey, QemuJson.Scalar(append)));
        }

        if (options.Remove(SectorSizeKey, out var sectorSize))
        {
            taken[SectorSizeKey] = BlockSpec.ParseSize(SectorSizeKey, sectorSize).ToString(CultureInfo.InvariantCulture);
            display.Add(new(SectorSizeKey, QemuJson.Scalar(sectorSize)));
        }

        if (options.Remove(IntervalKey, out var interval))
        {
            taken[IntervalKey] = QemuNumber.Parse(IntervalKey, interval.Text).ToString(CultureInfo.InvariantCulture);
        }

        if (LogChild(options) is { } log)
        {
            taken[LogKey] = log.Filename;
            display.Add(new("log", log.DisplayObject));
        }

        return display;
    }

    /// <summary>The <c>log.*</c> options: a file node, or raw over a file node; null when none is given.</summary>
    private static (string Filename, string DisplayObject)? LogChild(Dictionary<string, JsonScalar> options)
    {
        const string log = "log.";
        var keys = options.Keys.Where(k => k.StartsWith(log, StringComparison.Ordinal)).ToList();
        if (keys.Count == 0)
        {
            return null;
        }

        options.Remove("log.driver", out var driverValue);
        var driver = driverValue.Text;
        var prefix = driver == "raw" ? "log.file." : log;
        if (driver == "raw" && options.Remove("log.file.driver", out var inner) && inner.Text != "file")
        {
            throw new UnsupportedFeatureException($"A '{inner.Text}' node under the blklogwrites log's raw node is not supported; only 'file' is");
        }

        if (driver is not (null or "file" or "raw"))
        {
            throw new UnsupportedFeatureException($"A '{driver}' log node of blklogwrites is not supported; only 'file' and 'raw' are");
        }

        options.Remove(prefix + "filename", out var filename);
        if (options.Keys.FirstOrDefault(k => k.StartsWith(log, StringComparison.Ordinal)) is { } other)
        {
            throw new InvalidOptionException($"Block protocol 'file' doesn't support the option '{(other.StartsWith(prefix, StringComparison.Ordinal) ? other[prefix.Length..] : other[log.Length..])}'");
        }

        if (string.IsNullOrEmpty(filename.Text))
        {
            throw new InvalidOptionException("The 'file' block driver requires a file name");
        }

        var fileObject = QemuJson.Object([new("driver", QemuJson.String("file")), new("filename", QemuJson.String(filename.Text))]);
        return (filename.Text, driver == "raw" ? QemuJson.Object([new("driver", QemuJson.String("raw")), new("file", fileObject)]) : fileObject);
    }
}
