using DiskImage.Formats;

namespace DiskImage.Operations.Create;

/// <summary>A checked creation: the format and its typed options, with the size filled in from the backing file if needed.</summary>
public sealed record CreatePlan(string Path, IImageFormat Format, ImageCreateOptions Options)
{
    /// <summary>An option the format refuses once qemu-img has announced the image; <see cref="ImageCreator.Execute"/> throws it.</summary>
    public DriverOptionException? RefusedByDriver { get; init; }
}
