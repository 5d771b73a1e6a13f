namespace DiskImage.Formats.Ova;

/// <summary>A regular file inside a tar archive: its name and where its bytes lie in the archive.</summary>
internal sealed record TarEntry(string Name, long DataOffset, long Size);
