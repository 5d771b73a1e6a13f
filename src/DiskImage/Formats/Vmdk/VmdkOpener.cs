using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Vmdk;

/// <summary>What opening a VMDK found: its extents and the descriptor facts info and writes need.</summary>
internal sealed record VmdkLayout(
    VmdkFile Main,
    List<VmdkExtent> Extents,
    string CreateType,
    long DescriptorOffset,
    string DescriptorText);

/// <summary>
/// Opens the files of a VMDK: a sparse file (its embedded descriptor then gives only the CIDs and parent),
/// or a descriptor file whose RW extent lines name flat, sparse, VMFS, vmfsSparse or seSparse extents.
/// </summary>
internal static class VmdkOpener
{
    public static VmdkLayout Open(VmdkFile main, ImageOpenOptions options)
    {
        var extents = new List<VmdkExtent>();
        try
        {
            var length = main.Length;
            if (length < 4)
            {
                throw new InvalidImageException("File is too small, not a valid image");
            }

            var head = new byte[Math.Min(length, VmdkConstants.MaxDescriptorBytes)];
            main.Read(0, head);
            VmdkLayout layout;
            if (VmdkSparseHeader.HasMagic(head) || VmdkCowdHeader.HasMagic(head))
            {
                var (extent, embedded) = OpenSparse(main, "", head, options, allowEmbeddedDescriptor: true);
                if (embedded is not null)
                {
                    // A sparse file whose header carries no capacity but a descriptor: the descriptor rules.
                    layout = OpenDescriptor(main, embedded, options, extents);
                }
                else
                {
                    extents.Add(extent!);
                    var type = extent!.Compressed ? "streamOptimized" : extent.Cowd ? "vmfsSparse" : "monolithicSparse";
                    var window = new byte[VmdkConstants.CidWindowBytes];
                    main.Read(VmdkConstants.SectorSize, window);
                    layout = new VmdkLayout(main, extents, type, VmdkConstants.SectorSize, VmdkDescriptor.Decode(window));
                }
            }
            else
            {
                layout = OpenDescriptor(main, VmdkDescriptor.Decode(head), options, extents);
            }

            var start = 0L;
            foreach (var extent in extents)
            {
                extent.Start = start;
                start += extent.Bytes;
                if (start < 0 || start > long.MaxValue / 2)
                {
                    throw new InvalidImageException("The extents' total size is too large");
                }
            }

            return layout;
        }
        catch
        {
            foreach (var extent in extents)
            {
                if (!ReferenceEquals(extent.File, main))
                {
                    extent.Dispose();
                }
            }

            throw;
        }
    }

    private static VmdkLayout OpenDescriptor(VmdkFile main, string text, ImageOpenOptions options, List<VmdkExtent> extents)
    {
        var type = VmdkDescriptor.ReadDescriptorFileType(text);
        foreach (var line in VmdkDescriptor.ReadExtents(text))
        {
            if (main.QuorumName is { } quorum && !Path.IsPathRooted(line.FileName))
            {
                // A quorum node has no directory of its own, so a relative extent name cannot be resolved (as in QEMU).
                throw new ImageAccessException($"Cannot use relative paths with VMDK descriptor file '{quorum}': Cannot generate a base directory for quorum nodes");
            }

            var path = VmdkExtentPaths.Resolve(main.Name, line.FileName, options.TrustExtentPaths);
            if (main.IsWindow)
            {
                throw new UnsupportedFeatureException($"Extent file '{line.FileName}' cannot be opened from inside a container");
            }

            if (line.Sectors > long.MaxValue >> 10)
            {
                throw new InvalidImageException($"Invalid extent line: extent of {line.Sectors} sectors is too large");
            }

            var writable = !options.ReadOnly;
            if (line.Type == VmdkExtentType.SeSparse && writable)
            {
                throw new UnsupportedFeatureException("No write support for seSparse images available");
            }

            var file = OpenExtentFile(path, writable, line.Type is VmdkExtentType.Flat or VmdkExtentType.Vmfs, options);
            try
            {
                extents.Add(OpenExtent(file, line, options));
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        if (extents.Count == 0)
        {
            throw new InvalidImageException("The VMDK descriptor names no extents");
        }

        return new VmdkLayout(main, extents, type, 0, text);
    }

    private static VmdkFile OpenExtentFile(string path, bool writable, bool flat, ImageOpenOptions options)
    {
        try
        {
            return VmdkFile.Open(path, writable, options.IgnoreFlushes, ExtentLock(path, writable, flat, options));
        }
        catch (DiskImageException e) when (e is not ImageLockedException)
        {
            // QEMU's file driver names the extent when it cannot open it; a lock conflict is reported as it is.
            e.PrependContext($"Could not open '{path}': ");
            throw;
        }
    }

    /// <summary>
    /// Each extent is a child node of QEMU's vmdk driver and is locked as one: a sparse extent holds metadata, so
    /// nobody else may write or resize it; a flat extent is data only, which others may still write (as the user
    /// allows) but never resize, and which is resized whenever it is written.
    /// </summary>
    private static LockRequest? ExtentLock(string path, bool writable, bool flat, ImageOpenOptions options)
    {
        var readOnly = options with { ReadOnly = !writable };
        if (!flat || readOnly.LockFor(path, formatOwnsFile: false) is not { } request)
        {
            return readOnly.LockFor(path, formatOwnsFile: true);
        }

        var permissions = (request.Permissions & LockPermissions.Write) != 0 ? request.Permissions | LockPermissions.Resize : request.Permissions;
        return request with { Permissions = permissions, Shared = request.Shared & ~LockPermissions.Resize };
    }

    private static VmdkExtent OpenExtent(VmdkFile file, VmdkExtentLine line, ImageOpenOptions options)
    {
        switch (line.Type)
        {
            case VmdkExtentType.Flat:
            case VmdkExtentType.Vmfs:
                if (line.FlatOffsetSectors > long.MaxValue >> 10)
                {
                    throw new InvalidImageException($"Invalid extent line: offset {line.FlatOffsetSectors} is too large");
                }

                return VmdkExtent.CreateFlat(file, line.TypeName, line.Sectors, line.FlatOffsetSectors << 9);
            case VmdkExtentType.SeSparse:
            {
                var block = new byte[VmdkConstants.SectorSize];
                file.Read(0, block);
                var header = SeSparseHeader.Read(block);
                if (header.VolatileHeaderOffset > long.MaxValue >> 10)
                {
                    throw new InvalidImageException("Invalid seSparse volatile header offset");
                }

                file.Read((long)header.VolatileHeaderOffset << 9, block);
                SeSparseHeader.CheckVolatile(block);
                return VmdkExtent.CreateSeSparse(file, line.TypeName, header);
            }

            default:
            {
                if (file.Length < 4)
                {
                    throw new InvalidImageException("File is too small, not a valid image");
                }

                var head = new byte[Math.Min(file.Length, 4096)];
                file.Read(0, head);
                var (extent, _) = OpenSparse(file, line.TypeName, head, options, allowEmbeddedDescriptor: false);
                return extent!;
            }
        }
    }

    /// <summary>Opens a COWD or KDMV sparse file; returns its embedded descriptor instead when the header says so.</summary>
    private static (VmdkExtent? Extent, string? Descriptor) OpenSparse(VmdkFile file, string typeName, byte[] head, ImageOpenOptions options, bool allowEmbeddedDescriptor)
    {
        if (VmdkCowdHeader.HasMagic(head))
        {
            var cowd = VmdkCowdHeader.Read(head);
            var extent = VmdkExtent.CreateCowd(file, typeName, cowd);
            extent.NextClusterSector = RoundUp(SectorsOf(file), extent.ClusterSectors);
            return (extent, null);
        }

        if (!VmdkSparseHeader.HasMagic(head))
        {
            throw new InvalidImageException("Image not in VMDK format");
        }

        var header = VmdkSparseHeader.Read(head.AsSpan(0, VmdkSparseHeader.Size));
        if (header.Capacity == 0 && header.DescriptorOffset != 0)
        {
            if (!allowEmbeddedDescriptor)
            {
                throw new UnsupportedFeatureException("A sparse extent that holds a descriptor of its own is not supported");
            }

            if (header.DescriptorOffset > (ulong)(long.MaxValue >> 10))
            {
                throw new InvalidImageException("Invalid descriptor offset");
            }

            var text = new byte[Math.Min(file.Length, VmdkConstants.MaxDescriptorBytes)];
            file.Read((long)header.DescriptorOffset << 9, text);
            return (null, VmdkDescriptor.Decode(text));
        }

        if (header.DirectoryOffset == VmdkConstants.GrainDirectoryAtEnd)
        {
            header = ReadFooter(file);
        }

        if (header.Version > 3)
        {
            throw new UnsupportedFeatureException($"Unsupported VMDK version {header.Version}");
        }

        if (header.Version == 3 && !options.ReadOnly && !header.Compressed)
        {
            throw new InvalidImageException("VMDK version 3 must be read only");
        }

        var sparse = VmdkExtent.CreateSparseChecked(file, typeName, header);
        sparse.NextClusterSector = RoundUp(SectorsOf(file), sparse.ClusterSectors);
        return (sparse, null);
    }

    /// <summary>The footer of a stream whose header defers to it: marker, header sector, end-of-stream marker.</summary>
    private static VmdkSparseHeader ReadFooter(VmdkFile file)
    {
        var footer = new byte[3 * VmdkConstants.SectorSize];
        var end = SectorsOf(file) * VmdkConstants.SectorSize;
        if (end < footer.Length)
        {
            throw new InvalidImageException("Invalid footer");
        }

        file.Read(end - footer.Length, footer);
        var marker = footer.AsSpan(0, VmdkConstants.SectorSize);
        var headerBlock = footer.AsSpan(VmdkConstants.SectorSize, VmdkConstants.SectorSize);
        var eos = footer.AsSpan(2 * VmdkConstants.SectorSize);
        if (!VmdkSparseHeader.HasMagic(headerBlock)
            || BinaryPrimitives.ReadUInt32LittleEndian(marker[8..]) != 0
            || BinaryPrimitives.ReadUInt32LittleEndian(marker[12..]) != VmdkConstants.MarkerFooter
            || BinaryPrimitives.ReadUInt64LittleEndian(eos) != 0
            || BinaryPrimitives.ReadUInt32LittleEndian(eos[8..]) != 0
            || BinaryPrimitives.ReadUInt32LittleEndian(eos[12..]) != VmdkConstants.MarkerEndOfStream)
        {
            throw new InvalidImageException("Invalid footer");
        }

        return VmdkSparseHeader.Read(headerBlock);
    }

    private static long SectorsOf(VmdkFile file) => (file.Length + VmdkConstants.SectorSize - 1) / VmdkConstants.SectorSize;

    private static long RoundUp(long value, long unit) => (value + unit - 1) / unit * unit;
}
