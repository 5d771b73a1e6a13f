using DiskImage.Operations.Map;
using static DiskImage.Cli.Rendering.AllocationMapPicture;

namespace DiskImage.Cli.Rendering;

/// <summary>
/// The second part of the map picture: the image's host file as a strip of buckets (data, metadata, free),
/// because metadata clusters have no guest address to colour in the guest grid. A cell holding any metadata
/// is drawn as metadata: metadata is a sliver of a large file and would otherwise never win a cell.
/// </summary>
internal static class HostFileStrip
{
    public const int Columns = 128;
    public const int Cell = 8;

    /// <summary>The heading line above the cells.</summary>
    public const int Heading = 24;

    private static readonly (HostFileCategory Category, string Id, string Label, string Colour)[] s_styles =
    [
        (HostFileCategory.Data, "host-data", "host file: data clusters", "#8c564b"),
        (HostFileCategory.Metadata, "metadata", "host file: metadata clusters (header, tables, refcounts, snapshots, bitmaps, LUKS)", "#e377c2"),
        (HostFileCategory.Free, "host-free", "host file: free clusters", "#f0e08a"),
    ];

    public static int LegendLines => s_styles.Length + 1;

    /// <summary>Height of the heading and the cells.</summary>
    public static int Height(HostFileMap host) => Heading + ((host.BucketCount + Columns - 1) / Columns * Cell);

    public static int Width(HostFileMap host) => Math.Min(Columns, host.BucketCount) * Cell;

    public static void WriteStrip(TextWriter output, HostFileMap host, int top, int left)
    {
        output.WriteLine(F($"<text x=\"{left}\" y=\"{top + 14}\" font-weight=\"bold\">host file: {Size(host.Length)} in whole clusters, one cell = {Size(host.BucketSize)} of the file ({host.BucketCount} cells); a cell with any metadata shows as metadata</text>"));
        output.WriteLine(F($"<g id=\"host-grid\" transform=\"translate({left},{top + Heading})\">"));
        for (var bucket = 0; bucket < host.BucketCount;)
        {
            var category = Shown(host, bucket);
            var last = bucket;
            while (last + 1 < host.BucketCount && (last + 1) % Columns != 0 && Pure(host, last, category) && Pure(host, last + 1, category))
            {
                last++;
            }

            var start = host.BucketStart(bucket);
            var length = host.BucketStart(last) + host.BucketLength(last) - start;
            output.Write(F($"<rect x=\"{bucket % Columns * Cell}\" y=\"{bucket / Columns * Cell}\" width=\"{(last - bucket + 1) * Cell}\" height=\"{Cell}\" fill=\"{Colour(category)}\"><title>host {Size(start)}+{Size(length)}"));
            foreach (var s in s_styles)
            {
                long bytes = 0;
                for (var b = bucket; b <= last; b++)
                {
                    bytes += host.BucketBytes(b, s.Category);
                }

                if (bytes > 0)
                {
                    output.Write(F($"; {s.Id} {bytes}"));
                }
            }

            output.WriteLine("</title></rect>");
            bucket = last + 1;
        }

        output.WriteLine("</g>");
    }

    /// <summary>Legend lines from <paramref name="line"/> on (<see cref="LegendLines"/> of them).</summary>
    public static void WriteLegend(TextWriter output, HostFileMap host, int line, int lineHeight)
    {
        foreach (var s in s_styles)
        {
            var total = host.Total(s.Category);
            output.WriteLine(F($"<rect x=\"0\" y=\"{(line * lineHeight) - 10}\" width=\"12\" height=\"12\" fill=\"{s.Colour}\" stroke=\"#888888\"/>"));
            output.WriteLine(F($"<text id=\"total-{s.Id}\" data-bytes=\"{total}\" x=\"18\" y=\"{line * lineHeight}\">{s.Label}: {total} bytes ({Size(total)})</text>"));
            line++;
        }

        output.WriteLine(F($"<text id=\"total-host-file\" data-bytes=\"{host.Length}\" x=\"0\" y=\"{line * lineHeight}\">host file length in whole clusters: {host.Length} bytes ({Size(host.Length)})</text>"));
    }

    private static HostFileCategory Shown(HostFileMap host, int bucket) =>
        host.BucketBytes(bucket, HostFileCategory.Metadata) > 0 ? HostFileCategory.Metadata : host.Dominant(bucket);

    private static bool Pure(HostFileMap host, int bucket, HostFileCategory category) =>
        host.BucketBytes(bucket, category) == host.BucketLength(bucket);

    private static string Colour(HostFileCategory category) => Array.Find(s_styles, s => s.Category == category).Colour;
}
