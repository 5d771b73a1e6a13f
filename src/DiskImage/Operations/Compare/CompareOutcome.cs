namespace DiskImage.Operations.Compare;

/// <summary>How a comparison ended; the values are qemu-img compare's exit codes.</summary>
public enum CompareOutcome
{
    /// <summary>Same guest-visible content.</summary>
    Identical = 0,

    /// <summary>Content differs, or (strict) size or allocation differs.</summary>
    Different = 1,

    /// <summary>An image could not be opened.</summary>
    OpenFailed = 2,

    /// <summary>Block status (allocation) could not be determined.</summary>
    BlockStatusFailed = 3,

    /// <summary>Reading an image failed.</summary>
    ReadFailed = 4,
}
