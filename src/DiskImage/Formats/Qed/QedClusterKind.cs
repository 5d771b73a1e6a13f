namespace DiskImage.Formats.Qed;

/// <summary>What a table lookup found for a run of guest clusters (QEMU's find_cluster results).</summary>
internal enum QedClusterKind
{
    /// <summary>Data clusters stored contiguously in the file.</summary>
    Found,

    /// <summary>Zero clusters (entry 1): read as zeroes, hide the backing file.</summary>
    Zero,

    /// <summary>Unallocated entries in an existing L2 table.</summary>
    L2Missing,

    /// <summary>No L2 table for this part of the disk.</summary>
    L1Missing,
}
