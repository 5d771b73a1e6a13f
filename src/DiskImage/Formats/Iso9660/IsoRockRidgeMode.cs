namespace DiskImage.Formats.Iso9660;

/// <summary>How the builder records POSIX attributes with Rock Ridge.</summary>
public enum IsoRockRidgeMode
{
    /// <summary>No Rock Ridge: only ISO 9660 (and Joliet) names.</summary>
    None,

    /// <summary><c>-R</c>: ownership and permissions exactly as on the host.</summary>
    Exact,

    /// <summary><c>-r</c>: owner root, readable by all, write bits cleared, execute for all when any was set.</summary>
    Rationalized,
}
