namespace DiskImage.Formats.Iso9660;

/// <summary>A run of file data: byte offset in the image and length. Multi-extent files have several.</summary>
public readonly record struct IsoExtent(long Offset, long Length);
