namespace DiskImage.Operations.Map;

/// <summary>What a guest byte of an <see cref="AllocationMap"/> is, as a picture colours it.</summary>
public enum AllocationCategory
{
    /// <summary>Data stored in the image itself (encrypted when <see cref="AllocationMap.Encrypted"/>).</summary>
    Data,

    /// <summary>Data stored compressed in the image itself (it has no plain host offset).</summary>
    Compressed,

    /// <summary>Allocated in the image or a backing file and known to read as zeroes.</summary>
    Zero,

    /// <summary>Data served by a backing file (see <see cref="AllocationMap.LayerBytes"/> for which).</summary>
    Backing,

    /// <summary>Allocated nowhere in the chain: reads as zeroes and costs no storage.</summary>
    Unallocated,
}
