namespace DiskImage.Formats.Vmdk;

/// <summary>Options for a new VMDK, as qemu-img's <c>-o</c> keys for vmdk.</summary>
public sealed record VmdkCreateOptions : ImageCreateOptions
{
    /// <summary><c>subformat</c>; monolithicSparse by default.</summary>
    public VmdkSubformat Subformat { get; init; } = VmdkSubformat.MonolithicSparse;

    /// <summary><c>adapter_type</c>: ide (default), lsilogic, buslogic or legacyESX.</summary>
    public string AdapterType { get; init; } = "ide";

    /// <summary><c>hwversion</c>: the virtual hardware version written to the descriptor ("4" when unset).</summary>
    public string? HardwareVersion { get; init; }

    /// <summary><c>toolsversion</c>; "2147483647" when unset.</summary>
    public string? ToolsVersion { get; init; }

    /// <summary><c>compat6</c>: hardware version 6 (cannot be combined with <see cref="HardwareVersion"/>).</summary>
    public bool Compat6 { get; init; }

    /// <summary><c>zeroed_grain</c>: grain tables may mark grains as zeroed (sparse subformats only).</summary>
    public bool ZeroedGrain { get; init; }

    /// <summary>
    /// The name the image will have when it is written under a temporary name and renamed into place: the descriptor
    /// names its extents after it, as it would have named them after the final name. Null: the name created.
    /// </summary>
    internal string? NamedAs { get; init; }
}
