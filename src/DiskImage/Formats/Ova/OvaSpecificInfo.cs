namespace DiskImage.Formats.Ova;

/// <summary>The <c>format-specific</c> data <c>diskimg info</c> prints for an OVA (<c>type: "ova"</c>).</summary>
public sealed record OvaSpecificInfo() : FormatSpecificInfo("ova")
{
    /// <summary>The OVF descriptor's name inside the archive.</summary>
    public required string Descriptor { get; init; }

    /// <summary>Index (into <see cref="Disks"/>) of the disk this image reads.</summary>
    public required int SelectedDisk { get; init; }

    /// <summary>Every disk the OVF lists, in its order.</summary>
    public required IReadOnlyList<OvfDisk> Disks { get; init; }
}
