using DiskImage.Formats;
using DiskImage.Options;

namespace DiskImage.Cli.Rendering;

/// <summary>
/// <c>qemu-img info</c>'s human form. "virtual size" next to "disk size" is what tells a thin image
/// (small disk size) from a thick one.
/// </summary>
internal static class ImageInfoText
{
    public static void Write(TextWriter output, ImageInfo info)
    {
        output.WriteLine($"image: {info.Filename}");
        output.WriteLine($"file format: {info.Format}");
        output.WriteLine($"virtual size: {SizeText.ToHuman(info.VirtualSize)} ({info.VirtualSize} bytes)");
        output.WriteLine($"disk size: {(info.ActualSize is { } actual ? SizeText.ToHuman(actual) : "unavailable")}");
        if (info.Encrypted)
        {
            output.WriteLine("encrypted: yes");
        }

        if (info.ClusterSize is { } clusterSize)
        {
            output.WriteLine($"cluster_size: {clusterSize}");
        }

        if (info.BackingFilename is { } backing)
        {
            var full = info.FullBackingFilename;
            output.WriteLine(full is null ? $"backing file: {backing} (cannot determine actual path)"
                : full != backing ? $"backing file: {backing} (actual path: {full})" : $"backing file: {backing}");
            if (info.BackingFilenameFormat is { } backingFormat)
            {
                output.WriteLine($"backing file format: {backingFormat}");
            }
        }

        if (info.DirtyFlag == true)
        {
            output.WriteLine("cleanly shut down: no");
        }

        if (info.Snapshots.Count > 0)
        {
            output.WriteLine("Snapshot list:");
            SnapshotTable.Write(output, info.Snapshots);
        }

        if (info.FormatSpecific is { } specific)
        {
            output.WriteLine("Format specific information:");
            HumanOutput.WriteFields(output, FormatSpecificFields.Describe(specific), 4);
        }
    }
}
