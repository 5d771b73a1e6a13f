namespace DiskImage.Formats.Raw;

/// <summary>
/// The raw driver's <c>offset</c>/<c>size</c> options: the image is the part of its file starting at
/// <paramref name="Offset"/>, <paramref name="Size"/> bytes long (the rest of the file when null).
/// </summary>
/// <param name="Offset">First byte of the file that belongs to the image.</param>
/// <param name="Size">Bytes of the image; null for the rest of the file.</param>
/// <param name="DisplayName">The name qemu-img prints for such an image (a <c>json:</c> name).</param>
internal sealed record RawWindow(long Offset, long? Size, string DisplayName);
