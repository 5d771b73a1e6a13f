namespace DiskImage.Operations.Compare;

/// <summary>The verdict of a comparison.</summary>
/// <param name="Outcome">How it ended (its value is qemu-img's exit code).</param>
/// <param name="Difference">What differs, when <paramref name="Outcome"/> is <see cref="CompareOutcome.Different"/>.</param>
/// <param name="Offset">Guest offset of the first difference (content or block status), 512-byte aligned as qemu-img reports it.</param>
/// <param name="WarnSizeMismatch">
/// The sizes differ and the common part matched, so qemu-img prints "Warning: Image size mismatch!"
/// before its verdict on the larger image's extra part.
/// </param>
/// <param name="Error">The error, for the failed outcomes.</param>
public sealed record CompareResult(CompareOutcome Outcome, CompareDifference Difference, long? Offset, bool WarnSizeMismatch, string? Error)
{
    /// <summary>Exit code qemu-img compare gives for this result.</summary>
    public int ExitCode => (int)Outcome;

    /// <summary>The line qemu-img prints after <see cref="Error"/> when an image is locked by another process.</summary>
    public string? ErrorHint { get; init; }
}

/// <summary>Kinds of difference.</summary>
public enum CompareDifference
{
    /// <summary>No difference.</summary>
    None,

    /// <summary>Bytes differ at <see cref="CompareResult.Offset"/>.</summary>
    Content,

    /// <summary>Strict mode: the sizes differ.</summary>
    Size,

    /// <summary>Strict mode: allocation differs at <see cref="CompareResult.Offset"/>.</summary>
    BlockStatus,
}
