using System.Globalization;
using DiskImage.IO;

namespace DiskImage.Formats.Parallels;

/// <summary>
/// An open Parallels expandable image: the BAT maps each guest cluster to a cluster of the data area (in sectors, or
/// in clusters for the "Ext" magic); unallocated clusters read as zeroes, or from a backing node given at open time
/// (the header names none). New clusters go at the end of the data area, which grows ahead of them by the
/// <c>prealloc-size</c> open option; close trims the file back. A writable open marks the header in use and close
/// clears it, so an image left marked was not closed and only <c>check</c> may open it for writing.
/// </summary>
public sealed partial class ParallelsImage : IDiskImage
{
    /// <summary>The <c>prealloc-mode</c> open option: how the file grows ahead of new clusters.</summary>
    internal const string PreallocModeOption = "prealloc-mode";

    /// <summary>The <c>prealloc-size</c> open option: how far ahead the file grows (bytes, default 128 MiB).</summary>
    internal const string PreallocSizeOption = "prealloc-size";

    /// <summary>QEMU's largest image, in sectors (its byte length must stay below 2^63 rounded down to 1 GiB).</summary>
    private const ulong MaxSectors = 0x7FFFFFFFC0000000 / ParallelsHeader.SectorSize;

    private readonly IStorage _file;
    private readonly ImageOpenOptions _options;
    private readonly ParallelsBat _bat;
    private readonly Lock _lock = new();
    private readonly IDiskImage? _backing;
    private readonly long _preallocSectors;
    private ParallelsHeader _header;
    private bool _preallocTruncate;

    /// <summary>End of the data area in sectors: where the next cluster goes (QEMU's <c>data_end</c>).</summary>
    private long _dataEnd;

    /// <summary>The header was marked in use when opened (and no repair has cleared that yet).</summary>
    private bool _unclean;

    private ParallelsImage(IStorage file, ParallelsHeader header, ParallelsBat bat, long dataEnd, ImageOpenOptions options, IDiskImage? backing, long preallocSectors, bool preallocTruncate)
    {
        _file = file;
        _header = header;
        _bat = bat;
        _dataEnd = dataEnd;
        _options = options;
        _backing = backing;
        _preallocSectors = preallocSectors;
        _preallocTruncate = preallocTruncate;
        _unclean = header.InUse == ParallelsHeader.InUseMagic;
    }

    /// <inheritdoc/>
    public IImageFormat Format => ParallelsFormat.Instance;

    /// <inheritdoc/>
    public string FilePath => _file.Path;

    /// <inheritdoc/>
    public IDiskImage? Backing => _backing;

    /// <inheritdoc/>
    public long Length => (long)_header.EffectiveSectors * ParallelsHeader.SectorSize;

    /// <inheritdoc/>
    public bool CanWrite => _file.CanWrite;

    private uint Tracks => _header.Tracks;

    private long ClusterSize => (long)_header.Tracks * ParallelsHeader.SectorSize;

    /// <summary>Opens an image: QEMU's header checks in its order, then the BAT walk that finds the data end.</summary>
    internal static ParallelsImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var file = options.OpenFile(path, formatOwnsFile: true);
        file.IgnoreFlushes = options.IgnoreFlushes;
        IDiskImage? backing = null;
        try
        {
            var bytes = new byte[ParallelsHeader.Size];
            file.Read(0, bytes);
            var header = ParallelsHeader.Parse(bytes);
            if (header.Version != ParallelsHeader.Version2 || !ParallelsHeader.HasMagic(bytes))
            {
                throw new InvalidImageException("Image not in Parallels format", 0);
            }

            if (header.Tracks == 0)
            {
                throw new InvalidImageException("Invalid image: Zero sectors per track");
            }

            if (header.Tracks > ParallelsHeader.MaxTracks)
            {
                throw new FileTooLargeException("Invalid image: Too big cluster");
            }

            if (header.BatEntries > ParallelsHeader.MaxBatEntries)
            {
                throw new FileTooLargeException("Catalog too large");
            }

            var bat = new ParallelsBat(file, header.BatEntries);
            var dataEnd = FindDataEnd(header, bat);
            if (header.InUse == ParallelsHeader.InUseMagic && !options.ReadOnly && !options.ForCheck && !options.ForRepair)
            {
                throw new ImageAccessException("parallels: Image was not closed correctly; cannot be opened read/write");
            }

            var (preallocSize, preallocTruncate) = ParseRuntimeOptions(options.FormatOptions);

            if (header.ExtensionOffset != 0)
            {
                if (!options.ReadOnly)
                {
                    // QEMU has always opened such images for writing, ignoring the extension; so does this.
                    ImageWarnings.Report("warning: Format Extension ignored in RW mode");
                }
                else
                {
                    var cluster = new byte[(int)header.Tracks * ParallelsHeader.SectorSize];
                    file.Read((long)Math.Min(header.ExtensionOffset, long.MaxValue / ParallelsHeader.SectorSize) * ParallelsHeader.SectorSize, cluster);
                    ParallelsExtension.Validate(cluster, header.EffectiveSectors);
                }
            }

            // The block layer refuses a node longer than it can address, after the driver's own checks.
            if (header.EffectiveSectors > MaxSectors)
            {
                throw new FileTooLargeException("Could not refresh total sector count: File too large");
            }

            if (options.OpenBackingChain && options.BackingPath is { } backingPath)
            {
                backing = BackingChain.Open(path, backingPath, options.BackingFormat, options);
            }

            var image = new ParallelsImage(file, header, bat, dataEnd, options, backing, Math.Max(header.Tracks, preallocSize / ParallelsHeader.SectorSize), preallocTruncate);
            if (!options.ReadOnly)
            {
                image.MarkInUse();
            }

            return image;
        }
        catch
        {
            backing?.Dispose();
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// QEMU's data end: the header's data offset, or (when 0) the BAT's end rounded to a sector, taken in bytes where
    /// sectors are meant, as QEMU does; then past every cluster the BAT names.
    /// </summary>
    private static long FindDataEnd(ParallelsHeader header, ParallelsBat bat)
    {
        long dataEnd = header.DataOffset;
        if (dataEnd == 0)
        {
            dataEnd = ((ParallelsHeader.Size + (4L * header.BatEntries)) + ParallelsHeader.SectorSize - 1) & ~(long)(ParallelsHeader.SectorSize - 1);
        }

        foreach (var (_, value) in bat.All())
        {
            var sector = (long)value * header.OffsetMultiplier;
            if (sector >= dataEnd)
            {
                dataEnd = sector + header.Tracks;
            }
        }

        return dataEnd;
    }

    /// <summary>The <c>prealloc-size</c> (bytes) and whether <c>prealloc-mode</c> is <c>truncate</c>, refused in QEMU's words.</summary>
    private static (long Size, bool Truncate) ParseRuntimeOptions(IReadOnlyDictionary<string, string> options)
    {
        var size = 128L << 20;
        if (options.TryGetValue(PreallocSizeOption, out var sizeText))
        {
            size = long.Parse(sizeText, CultureInfo.InvariantCulture);
        }

        var truncate = false;
        if (options.TryGetValue(PreallocModeOption, out var mode))
        {
            truncate = mode switch
            {
                "falloc" => false,
                "truncate" => true,
                _ => throw new InvalidOptionException($"invalid parameter value: {mode}"),
            };
        }

        return (size, truncate);
    }

    /// <inheritdoc/>
    public ImageInfo GetInfo() => new()
    {
        Filename = _options.StackedDisplayName ?? _file.Path,
        Format = ParallelsFormat.Instance.Name,
        VirtualSize = Length,
        ActualSize = _file.AllocatedSize,
    };

    /// <summary>A writable open marks the header in use, as QEMU (the BAT and the rest are left as they are).</summary>
    private void MarkInUse()
    {
        _header = _header with { InUse = ParallelsHeader.InUseMagic };
        WriteHeader();
        _file.Flush();
    }

    private void WriteHeader()
    {
        Span<byte> raw = stackalloc byte[ParallelsHeader.Size];
        _header.WriteTo(raw);
        _file.Write(0, raw);
    }

    /// <summary>
    /// Clears the in-use mark and trims the file to the data end, as QEMU's close; both are best effort (QEMU ignores
    /// their errors too). An image still unclean (a check without repair) keeps its mark.
    /// </summary>
    public void Dispose()
    {
        try
        {
            if (_file.CanWrite)
            {
                lock (_lock)
                {
                    try
                    {
                        _file.Flush();
                        _header = _header with { InUse = 0 };
                        WriteHeader();
                        _file.Flush();
                        _file.SetLength(_dataEnd * ParallelsHeader.SectorSize);
                        _file.Flush();
                    }
                    catch (IOException)
                    {
                    }
                    catch (DiskImageException)
                    {
                    }
                }
            }
        }
        finally
        {
            _backing?.Dispose();
            _file.Dispose();
        }
    }

    private void CheckRange(long offset, long length) => HostMappedIo.CheckRange(Length, offset, length);

    private void CheckWritable() => HostMappedIo.CheckWritable(_file);
}
