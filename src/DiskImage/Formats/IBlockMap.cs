using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>
/// The format-specific part of an image whose guest disk is cut into fixed-size blocks, each either stored
/// somewhere in the file or not allocated and reading as zeroes (VHD, VDI, VHDX). <see cref="BlockMappedIo"/>
/// does the rest: splitting requests at block boundaries, reading, writing, zeroing and mapping.
/// </summary>
internal interface IBlockMap
{
    /// <summary>Guest bytes per block.</summary>
    long BlockSize { get; }

    /// <summary>
    /// Whether a newly allocated block is a hole in the file until data lands in it (VHDX, dynamic VHD), so that
    /// writing zeroes into it would only take space; VDI writes each new block whole.
    /// </summary>
    bool NewBlocksAreSparse { get; }

    /// <summary>The file the blocks are stored in.</summary>
    IStorage BlockFile { get; }

    /// <summary>File offset of guest byte <paramref name="offset"/>, or -1 when its block is not allocated.</summary>
    long HostOffset(long offset);

    /// <summary>
    /// Called before data or zeroes are written into the allocated block holding <paramref name="offset"/>, for the
    /// metadata the format updates on such writes (VHDX's data-write GUID, VHD's sector bitmap).
    /// </summary>
    void BeforeWriteToAllocated(long offset);

    /// <summary>
    /// Writes <paramref name="data"/>, which lies within one block that was not allocated when looked up: the
    /// format allocates it in its own crash-safe order (or finds that another writer just did) and writes.
    /// </summary>
    void WriteToNewBlock(long offset, ReadOnlySpan<byte> data);
}
