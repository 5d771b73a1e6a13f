namespace DiskImage.Operations.Dd;

/// <summary>What a dd copy did.</summary>
/// <param name="BytesCopied">Size of the new image's content: bytes taken from the input.</param>
/// <param name="SkippedPastEnd">The skip went past the input's end; an empty image was created (qemu-img warns).</param>
public sealed record DdResult(long BytesCopied, bool SkippedPastEnd);
