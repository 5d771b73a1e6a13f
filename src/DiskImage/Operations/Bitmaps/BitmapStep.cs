namespace DiskImage.Operations.Bitmaps;

/// <summary>One step of a bitmap command: the action, and for <see cref="BitmapAction.Merge"/> the source bitmap's name.</summary>
/// <param name="Action">What to do.</param>
/// <param name="MergeSource">The bitmap merged from (in <see cref="BitmapOptions.SourcePath"/> when given, else in the image itself).</param>
public sealed record BitmapStep(BitmapAction Action, string? MergeSource = null);
