using DiskImage.IO;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// The <c>format-specific</c> data <c>info</c> adds for a raw file holding an ISO 9660 volume
/// (<c>type: "iso9660"</c>). QEMU reports such files as raw; the format stays "raw".
/// </summary>
public sealed record IsoSpecificInfo() : FormatSpecificInfo("iso9660")
{
    /// <summary><c>volume-id</c>.</summary>
    public required string VolumeId { get; init; }

    /// <summary><c>system-id</c>.</summary>
    public required string SystemId { get; init; }

    /// <summary><c>publisher-id</c>.</summary>
    public required string PublisherId { get; init; }

    /// <summary><c>application-id</c>.</summary>
    public required string ApplicationId { get; init; }

    /// <summary><c>creation-time</c>, when the descriptor records one.</summary>
    public DateTimeOffset? CreationTime { get; init; }

    /// <summary><c>volume-size</c>: volume space size in bytes.</summary>
    public required long VolumeSize { get; init; }

    /// <summary><c>joliet</c>: a Joliet tree is present.</summary>
    public required bool Joliet { get; init; }

    /// <summary><c>rock-ridge</c>: Rock Ridge entries are present.</summary>
    public required bool RockRidge { get; init; }

    /// <summary><c>boot-entries</c>: El Torito entries in catalog order.</summary>
    public required IReadOnlyList<ElToritoBootEntry> BootEntries { get; init; }

    /// <summary><c>system-area</c>: "mbr" or "gpt" for hybrid images bootable from a disk too; null otherwise.</summary>
    public string? SystemArea { get; init; }

    /// <summary>
    /// Reads the volume descriptors of a device that has "CD001" at 32 KiB; null when it has not, or
    /// when they do not parse (a raw disk is still a raw disk, whatever its bytes look like).
    /// </summary>
    public static IsoSpecificInfo? TryRead(IBlockDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.Length < IsoConstants.FirstDescriptorOffset + IsoConstants.SectorSize)
        {
            return null;
        }

        Span<byte> signature = stackalloc byte[6];
        device.Read(IsoConstants.FirstDescriptorOffset, signature);
        if (!signature[1..].SequenceEqual(IsoConstants.StandardIdentifier))
        {
            return null;
        }

        try
        {
            using var iso = IsoFileSystem.Open(device, leaveOpen: true);
            var volume = iso.Volume;
            return new IsoSpecificInfo
            {
                VolumeId = volume.VolumeId,
                SystemId = volume.SystemId,
                PublisherId = volume.PublisherId,
                ApplicationId = volume.ApplicationId,
                CreationTime = volume.CreationTime,
                VolumeSize = volume.VolumeSize,
                Joliet = volume.JolietLevel > 0,
                RockRidge = volume.RockRidge,
                BootEntries = volume.BootEntries,
                SystemArea = volume.SystemAreaPartitioning,
            };
        }
        catch (InvalidImageException)
        {
            return null;
        }
    }
}
