namespace DiskImage.Formats.Vvfat;

/// <summary>
/// A run of clusters [<see cref="Begin"/>, <see cref="End"/>) of the virtual disk and what it shows: a host file's
/// bytes, or a directory's entries (from <see cref="FirstDirIndex"/> in the directory table).
/// </summary>
internal sealed class VvfatMapping(string path, bool isDirectory, int dirIndex, int parentIndex, long size)
{
    public string Path { get; } = path;

    public bool IsDirectory { get; } = isDirectory;

    /// <summary>The index of the entry naming it (its 8.3 entry) in the directory table.</summary>
    public int DirIndex { get; } = dirIndex;

    /// <summary>The mapping of the directory holding it (-1 for the root).</summary>
    public int ParentIndex { get; } = parentIndex;

    /// <summary>A file's size in bytes; 0 for a directory.</summary>
    public long Size { get; } = size;

    public long Begin { get; set; }

    public long End { get; set; }

    /// <summary>A directory's first entry in the directory table.</summary>
    public int FirstDirIndex { get; set; }
}
