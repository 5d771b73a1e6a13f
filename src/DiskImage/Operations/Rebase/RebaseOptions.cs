namespace DiskImage.Operations.Rebase;

/// <summary>What <c>qemu-img rebase</c> is asked to do.</summary>
public sealed record RebaseOptions
{
    public required string Path { get; init; }

    /// <summary>Format of the image being rebased; probed when null.</summary>
    public string? Format { get; init; }

    /// <summary>New backing file name, stored as given (relative names are relative to the image); empty for none.</summary>
    public required string BackingFile { get; init; }

    /// <summary>Format of the new backing file; required unless <see cref="BackingFile"/> is empty.</summary>
    public string? BackingFormat { get; init; }

    /// <summary>Only rewrite the header (qemu-img's <c>-u</c>): the guest content may change.</summary>
    public bool Unsafe { get; init; }
}
