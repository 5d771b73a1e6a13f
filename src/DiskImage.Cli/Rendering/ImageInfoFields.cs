using DiskImage.Formats;

namespace DiskImage.Cli.Rendering;

/// <summary><c>qemu-img info --output=json</c>'s object for one image, keys in qemu-img 7.2's order.</summary>
internal static class ImageInfoFields
{
    public static InfoFields Describe(ImageInfo info)
    {
        var fields = new InfoFields();
        if (info.Snapshots.Count > 0)
        {
            fields.Add("snapshots", info.Snapshots.Select(Snapshot).ToList());
        }

        fields.Add("backing-filename-format", info.BackingFilenameFormat);
        fields.Add("virtual-size", info.VirtualSize);
        fields.Add("filename", info.Filename);
        fields.Add("cluster-size", info.ClusterSize);
        fields.Add("format", info.Format);
        fields.Add("actual-size", info.ActualSize);
        if (info.FormatSpecific is { } specific)
        {
            fields.Add("format-specific", new InfoFields { { "type", specific.Type }, { "data", FormatSpecificFields.Describe(specific) } });
        }

        fields.Add("full-backing-filename", info.FullBackingFilename);
        fields.Add("encrypted", info.Encrypted ? true : null);
        fields.Add("backing-filename", info.BackingFilename);
        // QEMU's parallels, bochs, cloop and dmg drivers have no driver information either.
        // vvfat has none either, whether it is the format or the protocol under raw.
        if (!OnNbdWithoutDriverInfo(info) && info.Format is not ("parallels" or "bochs" or "cloop" or "dmg" or "vvfat" or "snapshot-access")
            && !(info.Format == "raw" && info.Filename.StartsWith("json:{\"driver\": \"raw\", \"file\": {\"fat-type\"", StringComparison.Ordinal)))
        {
            fields.Add("dirty-flag", info.DirtyFlag ?? false);
        }
        return fields;
    }

    /// <summary>
    /// QEMU's nbd, ssh, nfs and null drivers have no driver information, and raw passes the question on to its
    /// protocol, so qemu-img prints no dirty flag for an export, remote file or null node opened as itself or as
    /// <c>raw</c> (formats with their own header do).
    /// </summary>
    private static bool OnNbdWithoutDriverInfo(ImageInfo info) =>
        info.Format is "nbd" or "ssh" or "nfs" or "null-co" or "null-aio"
        || (info.Format == "raw" && OnNullNode(info.Filename))
        || (info.Format == "raw" && (info.Filename.StartsWith("ssh://", StringComparison.Ordinal) || info.Filename.StartsWith("nfs://", StringComparison.Ordinal)
            || (info.Filename.StartsWith("nbd", StringComparison.Ordinal) && info.Filename.Contains("://", StringComparison.Ordinal))));

    /// <summary>
    /// A raw image over a null node, named by the node (<c>null-co://</c>), by a blkdebug node over it
    /// (<c>blkdebug:CONFIG:null-co://</c>, which passes the question on) or by a <c>json:</c> name holding it as the file.
    /// </summary>
    private static bool OnNullNode(string filename) =>
        filename.StartsWith("null-co://", StringComparison.Ordinal) || filename.StartsWith("null-aio://", StringComparison.Ordinal)
        || (filename.StartsWith("blkdebug:", StringComparison.Ordinal) && (filename.EndsWith(":null-co://", StringComparison.Ordinal) || filename.EndsWith(":null-aio://", StringComparison.Ordinal)))
        || (filename.StartsWith("json:", StringComparison.Ordinal) && (filename.Contains("\"file\": {\"driver\": \"null-co\"", StringComparison.Ordinal)
            || filename.Contains("\"file\": {\"driver\": \"null-aio\"", StringComparison.Ordinal)));

    private static InfoFields Snapshot(SnapshotInfo snapshot) => new()
    {
        { "icount", snapshot.Icount },
        { "vm-clock-nsec", snapshot.VmClockNanoseconds % 1_000_000_000 },
        { "name", snapshot.Name },
        { "date-sec", snapshot.DateSeconds },
        { "date-nsec", snapshot.DateNanoseconds },
        { "vm-clock-sec", snapshot.VmClockNanoseconds / 1_000_000_000 },
        { "id", snapshot.Id },
        { "vm-state-size", snapshot.VmStateSize },
    };
}
