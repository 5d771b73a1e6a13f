namespace DiskImage.Operations.Map;

/// <summary>What a byte of an image's host file holds, as <see cref="HostFileMap"/> counts it.</summary>
public enum HostFileCategory
{
    /// <summary>In use (refcount above zero) and holding guest data, of the image or of a snapshot.</summary>
    Data,

    /// <summary>
    /// The format's own structures: header, L1 and L2 tables, refcount table and blocks, snapshot table,
    /// persistent bitmaps and the LUKS header.
    /// </summary>
    Metadata,

    /// <summary>Inside the file but in no use (refcount zero): freed or leaked clusters, or preallocated tail.</summary>
    Free,
}
