namespace DiskImage.Formats.Vhdx;

/// <summary>Options for creating a VHDX (<c>qemu-img create -f vhdx</c>).</summary>
public sealed record VhdxCreateOptions : ImageCreateOptions
{
    /// <summary><c>subformat=fixed</c>: every block allocated up front; otherwise dynamic.</summary>
    public bool Fixed { get; init; }

    /// <summary><c>block_size</c> in bytes (rounded up to whole MiB, at most 256 MiB); null or 0 picks it from the disk size.</summary>
    public long? BlockSize { get; init; }

    /// <summary><c>log_size</c> in bytes, rounded up to whole MiB.</summary>
    public long LogSize { get; init; } = 1 << 20;

    /// <summary>
    /// <c>block_state_zero</c> (on by default, as in qemu-img): unallocated blocks of a dynamic disk are marked
    /// as reading zeroes rather than as not present.
    /// </summary>
    public bool BlockStateZero { get; init; } = true;
}
