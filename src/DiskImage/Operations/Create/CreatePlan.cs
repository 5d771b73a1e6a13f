using DiskImage.Formats;

namespace DiskImage.Operations.Create;

/// <summary>A checked creation: the format and its typed options, with the size filled in from the backing file if needed.</summary>
public sealed record CreatePlan(string Path, IImageFormat Format, ImageCreateOptions Options);
