using System.Text;
using DiskImage.IO;
using DiskImage.Options;

namespace DiskImage.Formats.Qed;

/// <summary>QEMU's enhanced disk format (QED): two-level cluster tables, backing files, no snapshots.</summary>
public sealed class QedFormat : IImageFormat
{
    /// <summary>The one instance; formats hold no state.</summary>
    public static QedFormat Instance { get; } = new();

    private QedFormat() { }

    /// <inheritdoc/>
    public string Name => "qed";

    /// <inheritdoc/>
    public int ProbeHeaderSize => QedHeader.Size;

    /// <inheritdoc/>
    public bool CanCreate => true;

    /// <inheritdoc/>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) => QedHeader.HasMagic(header) ? 100 : 0;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options) => QedImage.Open(path, options);

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new QedCreateOptions { Size = size };
        foreach (var (key, value) in options)
        {
            result = key switch
            {
                "size" => result with { Size = SizeText.ParseOption(key, value) },
                "backing_file" => result with { BackingFile = value },
                "backing_fmt" => result with { BackingFormat = value },
                "cluster_size" => result with { ClusterSize = SizeText.ParseOption(key, value) },
                "table_size" => result with { TableSize = SizeText.ParseOption(key, value) },
                _ when FileProtocolCreateOption.Accept(key, value) => result,
                _ => throw new InvalidOptionException($"Invalid parameter '{key}'"),
            };
        }

        return result;
    }

    /// <summary>
    /// The header cluster (with the backing file name right after the 64 header bytes) and an empty L1 table in
    /// the second cluster; the file length is what QED uses to place new clusters, so nothing else is written.
    /// </summary>
    public void Create(string path, ImageCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var qed = options as QedCreateOptions ?? new QedCreateOptions { Size = options.Size, BackingFile = options.BackingFile, BackingFormat = options.BackingFormat };
        if (!QedHeader.IsClusterSizeValid((ulong)qed.ClusterSize))
        {
            throw new DriverOptionException($"QED cluster size must be within range [{QedHeader.MinClusterSize}, {QedHeader.MaxClusterSize}] and power of 2");
        }

        if (!QedHeader.IsTableSizeValid((ulong)qed.TableSize))
        {
            throw new DriverOptionException($"QED table size must be within range [{QedHeader.MinTableSize}, {QedHeader.MaxTableSize}] and power of 2");
        }

        var clusterSize = (uint)qed.ClusterSize;
        var tableSize = (uint)qed.TableSize;
        // qemu-img rounds the size up to whole sectors without a word.
        var size = ((ulong)(qed.Size ?? 0) + 511) & ~511UL;
        if (!QedHeader.IsImageSizeValid(size, clusterSize, tableSize))
        {
            throw new DriverOptionException($"QED image size must be a non-zero multiple of cluster size and less than {QedHeader.MaxImageSize(clusterSize, tableSize)} bytes");
        }

        var name = qed.BackingFile is null ? [] : Encoding.UTF8.GetBytes(qed.BackingFile);
        var features = 0UL;
        if (qed.BackingFile is not null)
        {
            features |= QedHeader.FeatureBackingFile;
            if (qed.BackingFormat == "raw")
            {
                features |= QedHeader.FeatureBackingFormatNoProbe;
            }
        }

        var header = new QedHeader
        {
            ClusterSize = clusterSize,
            TableSize = tableSize,
            HeaderSize = 1,
            Features = features,
            L1TableOffset = clusterSize,
            ImageSize = size,
            BackingFilenameOffset = qed.BackingFile is null ? 0u : QedHeader.Size,
            BackingFilenameSize = (uint)name.Length,
        };
        var first = new byte[QedHeader.Size + name.Length];
        header.WriteTo(first);
        name.CopyTo(first.AsSpan(QedHeader.Size));

        NewImageFile.Write(path, file =>
        {
            file.SetLength(0);
            file.Write(0, first);
            file.WriteZeroBytes(clusterSize, (long)clusterSize * tableSize);
            file.Flush();
        });
    }
}
