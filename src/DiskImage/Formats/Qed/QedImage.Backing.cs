using System.Text;

namespace DiskImage.Formats.Qed;

public sealed partial class QedImage
{
    /// <summary>
    /// Rewrites the header with a new backing file name (null: none) right after it, as QEMU does: the backing
    /// feature bits follow the name and format (raw sets no-probe), and the header and name are written at once and
    /// flushed. Refused when unknown compatible features may keep data after the header, or when the name does not
    /// fit in the header clusters.
    /// </summary>
    internal void ChangeBackingFile(string? backingFile, string? backingFormat)
    {
        CheckWritable();
        if (backingFile is not null && _header.CompatFeatures != 0)
        {
            throw new UnsupportedFeatureException($"Could not change the backing file to '{backingFile}': Operation not supported");
        }

        var name = string.IsNullOrEmpty(backingFile) ? [] : Encoding.UTF8.GetBytes(backingFile);
        var features = _header.Features & ~(QedHeader.FeatureBackingFile | QedHeader.FeatureBackingFormatNoProbe);
        if (backingFile is not null)
        {
            features |= QedHeader.FeatureBackingFile;
            if (backingFormat == "raw")
            {
                features |= QedHeader.FeatureBackingFormatNoProbe;
            }
        }

        if (QedHeader.Size + name.Length > (long)_header.HeaderSize * _header.ClusterSize)
        {
            throw new ErrnoException(28, $"Could not change the backing file to '{backingFile}': No space left on device");
        }

        lock (_lock)
        {
            var header = _header with { Features = features, BackingFilenameOffset = QedHeader.Size, BackingFilenameSize = (uint)name.Length };
            var bytes = new byte[QedHeader.Size + name.Length];
            header.WriteTo(bytes);
            name.CopyTo(bytes.AsSpan(QedHeader.Size));
            _file.Write(0, bytes);
            _file.Flush();
            _header = header;
        }
    }
}
