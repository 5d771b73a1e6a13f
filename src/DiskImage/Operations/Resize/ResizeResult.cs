namespace DiskImage.Operations.Resize;

/// <summary>Virtual sizes before and after a resize.</summary>
public sealed record ResizeResult(long OldSize, long NewSize);
