using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Vpc;

/// <summary>
/// An open VHD (QEMU's <c>vpc</c>): fixed (the file is the disk, footer after it) or dynamic (a block
/// allocation table of 2 MiB blocks, each behind a sector bitmap). A differencing disk is read as QEMU reads
/// it: as a dynamic disk of its own blocks, without its parent.
/// </summary>
public sealed partial class VpcImage : IDiskImage, IHostMappedImage, IBlockMap
{
    private const uint Unallocated = 0xFFFFFFFF;

    private readonly IStorage _file;
    private readonly byte[] _footerBytes;
    private readonly VpcFooter _footer;
    private readonly long _length;
    private readonly uint[] _bat = [];
    private readonly long _batOffset;
    private readonly int _blockSize;
    private readonly int _bitmapSize;
    private readonly Lock _allocation = new();
    private long _freeDataBlockOffset;
    private long _lastBitmapOffset = -1;

    private VpcImage(IStorage file, byte[] footerBytes, VpcFooter footer, long length)
    {
        _file = file;
        _footerBytes = footerBytes;
        _footer = footer;
        _length = length;
    }

    private VpcImage(IStorage file, byte[] footerBytes, VpcFooter footer, long length, VpcDynamicHeader header, uint[] bat)
        : this(file, footerBytes, footer, length)
    {
        _batOffset = (long)header.TableOffset;
        _blockSize = (int)header.BlockSize;
        _bitmapSize = BitmapSize(_blockSize);
        _bat = bat;
        _freeDataBlockOffset = AlignUp(_batOffset + (bat.Length * 4L));
        foreach (var entry in bat)
        {
            if (entry != Unallocated)
            {
                _freeDataBlockOffset = Math.Max(_freeDataBlockOffset, (entry * 512L) + _bitmapSize + _blockSize);
            }
        }
    }

    /// <inheritdoc/>
    public IImageFormat Format => VpcFormat.Instance;

    /// <inheritdoc/>
    public string FilePath => _file.Path;

    /// <inheritdoc/>
    public IDiskImage? Backing => null;

    /// <inheritdoc/>
    public long Length => _length;

    /// <inheritdoc/>
    public bool CanWrite => _file.CanWrite;

    /// <summary>Whether guest data is stored in place (a fixed disk) rather than through the allocation table.</summary>
    public bool IsFixed => _footer.DiskType == VpcFooter.TypeFixed;

    IStorage IHostMappedImage.Storage => _file;

    /// <summary>Bytes of the sector bitmap in front of every block of <paramref name="blockSize"/> bytes.</summary>
    internal static int BitmapSize(int blockSize) => ((blockSize / (8 * 512)) + 511) & ~511;

    internal static long AlignUp(long value) => (value + 511) & ~511L;

    /// <summary>Opens a VHD (vpc) image, fixed or dynamic.</summary>
    /// <param name="path">The image file.</param>
    /// <param name="options">How to open it.</param>
    public static VpcImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // A format node stacked under this one (a json: name's file.driver) replaces the host file.
        var file = options.FileNode is { } node ? node(options, true) : Storage.Open(path, !options.ReadOnly, options.LockFor(path, formatOwnsFile: true));
        try
        {
            file.IgnoreFlushes = options.IgnoreFlushes;
            return Open(file, SizeCalcFrom(options));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The runtime option that overrides how the disk size is found (<c>current_size</c> or <c>chs</c>).</summary>
    internal const string SizeCalcOption = "force_size_calc";

    /// <summary>The size calculation forced by <see cref="SizeCalcOption"/>: null (by creator), true (CHS), false (footer size).</summary>
    private static bool? SizeCalcFrom(ImageOpenOptions options) =>
        !options.FormatOptions.TryGetValue(SizeCalcOption, out var calc) ? null
        : calc switch
        {
            "current_size" => false,
            "chs" => true,
            _ => throw new InvalidOptionException($"Invalid size calculation mode: '{calc}'"),
        };

    private static VpcImage Open(IStorage file, bool? forceChs)
    {
        var fileLength = file.Length;
        var footerBytes = new byte[VpcFooter.Size];
        file.Read(0, footerBytes);
        var dynamic = VpcFooter.HasCookie(footerBytes);
        if (!dynamic)
        {
            // A fixed disk has its footer only at the end of the file.
            if (fileLength < VpcFooter.Size)
            {
                throw new InvalidImageException("Invalid argument");
            }

            file.Read(fileLength - VpcFooter.Size, footerBytes);
            if (!VpcFooter.HasCookie(footerBytes))
            {
                throw new InvalidImageException("invalid VPC image", 0);
            }
        }

        var footer = VpcFooter.Parse(footerBytes);
        var sectors = SectorCount(footer, forceChs);
        if (sectors > VpcGeometry.MaxSectors)
        {
            throw new InvalidImageException("File too large");
        }

        if (!dynamic)
        {
            return new VpcImage(file, footerBytes, footer, sectors * 512);
        }

        if (footer.DataOffset > (ulong)fileLength)
        {
            throw new InvalidImageException("Invalid argument");
        }

        var headerBytes = new byte[VpcDynamicHeader.Size];
        file.Read((long)footer.DataOffset, headerBytes);
        if (!headerBytes.AsSpan(0, 8).SequenceEqual("cxsparse"u8))
        {
            throw new InvalidImageException("Invalid argument");
        }

        var header = VpcDynamicHeader.Parse(headerBytes);
        var bat = ReadTable(file, header, sectors, fileLength);
        return new VpcImage(file, footerBytes, footer, sectors * 512, header, bat);
    }

    /// <summary>
    /// The disk size in sectors as QEMU sees it: the CHS geometry for Virtual PC and QEMU's own images, the
    /// footer's current size for Hyper-V, Disk2vhd, XenServer, XenConverter, "qem2", and any image whose
    /// geometry is the maximum (so that large disks are not cut to 127 GiB). <paramref name="forceChs"/> overrides the
    /// creator (QEMU's force_size_calc), though a maximum geometry still means the footer's size.
    /// </summary>
    private static long SectorCount(VpcFooter footer, bool? forceChs)
    {
        var sizedByFooter = forceChs is { } chsForced ? !chsForced : footer.CreatorApp is "win " or "qem2" or "d2v " or "CTXS" or "tap\0";
        var chs = footer.Geometry.TotalSectors;
        return sizedByFooter || chs == VpcGeometry.MaxGeometrySectors ? (long)Math.Min(footer.CurrentSize / 512, long.MaxValue / 512) : chs;
    }

    private static uint[] ReadTable(IStorage file, VpcDynamicHeader header, long sectors, long fileLength)
    {
        var blockSize = header.BlockSize;
        if (blockSize < 512 || !uint.IsPow2(blockSize))
        {
            throw new InvalidImageException($"Invalid block size {blockSize}");
        }

        if (sectors * 512 / blockSize > 0xffffffffL)
        {
            throw new InvalidImageException("Too many blocks");
        }

        if ((long)header.MaxTableEntries * blockSize < sectors * 512)
        {
            throw new InvalidImageException("Page table too small");
        }

        if (header.MaxTableEntries > int.MaxValue / 4)
        {
            throw new InvalidImageException($"Max Table Entries too large ({(int)header.MaxTableEntries})");
        }

        // The table must lie inside the file: QEMU would find the data area starting past the end and give up.
        var tableBytes = header.MaxTableEntries * 4L;
        if (header.TableOffset > (ulong)fileLength || AlignUp((long)header.TableOffset + tableBytes) > fileLength)
        {
            throw new InvalidImageException(Truncated);
        }

        var raw = new byte[tableBytes];
        file.Read((long)header.TableOffset, raw);
        var bat = new uint[header.MaxTableEntries];
        var bitmapSize = BitmapSize((int)blockSize);
        for (var i = 0; i < bat.Length; i++)
        {
            bat[i] = BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(i * 4));
            if (bat[i] != Unallocated && (bat[i] * 512L) + bitmapSize + blockSize > fileLength)
            {
                throw new InvalidImageException(Truncated);
            }
        }

        return bat;
    }

    private const string Truncated = "block-vpc: free_data_block_offset points after the end of file. The image has been truncated.";

    /// <inheritdoc/>
    public ImageInfo GetInfo() => new()
    {
        Filename = _file.Path,
        Format = VpcFormat.Instance.Name,
        VirtualSize = _length,
        ActualSize = _file.AllocatedSize,
        ClusterSize = IsFixed ? null : _blockSize,
    };

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();

    private void CheckRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > _length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range {offset}+{length} lies outside the {_length}-byte image.");
        }
    }

    private void CheckWritable()
    {
        if (!_file.CanWrite)
        {
            throw new InvalidOperationException("The image was opened read-only.");
        }
    }
}
