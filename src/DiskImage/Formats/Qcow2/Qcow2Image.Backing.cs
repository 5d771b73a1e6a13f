using System.Text;

namespace DiskImage.Formats.Qcow2;

/// <summary>Header changes of the backing chain (rebase) and emptying an overlay (commit).</summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// Rewrites the backing file name and format in the header (null name: no backing file). Other
    /// extensions, unknown ones included, are kept; the whole first cluster is written at once.
    /// </summary>
    internal void ChangeBackingFile(string? backingFile, string? backingFormat)
    {
        CheckWritable();
        if (backingFile is not null && Encoding.UTF8.GetByteCount(backingFile) > Qcow2Constants.MaxBackingFileNameLength)
        {
            throw new InvalidOptionException("Backing file name too long");
        }

        lock (_lock)
        {
            FlushMetadataLocked();
            var format = backingFile is null || backingFormat is null ? null : Encoding.UTF8.GetBytes(backingFormat);
            var header = (_header with { BackingFile = string.IsNullOrEmpty(backingFile) ? null : backingFile })
                .WithExtension(Qcow2Constants.ExtensionBackingFormat, format);
            header.Serialize();
            _header = header;
            WriteHeaderLocked();
            _file.Flush();
        }
    }

    /// <summary>Makes every cluster unallocated (reads fall through to the backing file), as QEMU's make_empty.</summary>
    internal void MakeEmpty()
    {
        CheckWritable();
        lock (_lock)
        {
            FlushMetadataLocked();
            UnmapFromLocked(0);
            FlushMetadataLocked();
            TruncateAfterLastUsedClusterLocked();
        }
    }
}
