using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using DiskImage.IO;

namespace DiskImage.Formats.Vmdk;

/// <summary>
/// Creates VMDKs with QEMU's layout: sparse extents get a header, a redundant and a primary grain
/// directory with every grain table preallocated, and grains from the first 64 KiB boundary after them;
/// flat extents are empty files of the extent's size; split subformats use 2 GiB extents.
/// </summary>
internal static class VmdkCreator
{
    private const int Granularity = 128;
    private const int TableEntries = 512;

    public static void Create(string path, VmdkCreateOptions options)
    {
        var size = options.Size ?? throw new InvalidOptionException("Image creation needs a size parameter");
        if (size < 0)
        {
            throw new InvalidOptionException("Image size must be non-negative");
        }

        size = (size + 511) & ~511L;
        var subformat = options.Subformat;
        var flat = subformat is VmdkSubformat.MonolithicFlat or VmdkSubformat.TwoGbMaxExtentFlat;
        var split = subformat is VmdkSubformat.TwoGbMaxExtentFlat or VmdkSubformat.TwoGbMaxExtentSparse;
        var compress = subformat == VmdkSubformat.StreamOptimized;
        if (options.BackingFormat is not null && options.BackingFormat != "vmdk")
        {
            throw new InvalidOptionException("backing_file must be a vmdk image");
        }

        var hardwareVersion = options.HardwareVersion;
        if (options.Compat6)
        {
            hardwareVersion = hardwareVersion is null ? "6" : throw new InvalidOptionException("compat6 cannot be enabled with hwversion set");
        }

        if (flat && options.BackingFile is not null)
        {
            throw new UnsupportedFeatureException("Flat image can't have backing file");
        }

        if (flat && options.ZeroedGrain)
        {
            throw new UnsupportedFeatureException("Flat image can't enable zeroed grain");
        }

        if (size / VmdkConstants.SectorSize > uint.MaxValue * (long)Granularity && !flat)
        {
            throw new InvalidOptionException("The size is too large for a sparse VMDK");
        }

        var parentCid = VmdkConstants.NoParentCid;
        if (options.BackingFile is not null)
        {
            parentCid = ReadParentCid(path, options);
        }

        var directory = DirectoryOf(path);
        var name = FileNameOf(options.NamedAs ?? path);
        var created = new List<string>();
        try
        {
            var lines = new StringBuilder();
            using var main = NewImageFile.CreateFile(path);
            created.Add(path);
            if (!split && !flat)
            {
                InitExtent(main, size, flat: false, compress, options.ZeroedGrain);
                lines.Append(CultureInfo.InvariantCulture, $"RW {size / 512} SPARSE \"{name}\"\n");
            }
            else
            {
                foreach (var (extentName, current) in SeparateExtents(name, size, subformat))
                {
                    using (var file = NewImageFile.CreateFile(directory + extentName))
                    {
                        created.Add(directory + extentName);
                        InitExtent(file, current, flat, compress, options.ZeroedGrain);
                    }

                    var kind = flat ? "FLAT" : "SPARSE";
                    var tail = flat ? " 0" : "";
                    lines.Append(CultureInfo.InvariantCulture, $"RW {current / 512} {kind} \"{extentName}\"{tail}\n");
                }
            }

            var heads = options.AdapterType == "ide" ? 16 : 255;
            var parentLine = options.BackingFile is null ? "" : $"parentFileNameHint=\"{options.BackingFile}\"\n";
            var descriptor = string.Create(CultureInfo.InvariantCulture,
                $"# Disk DescriptorFile\nversion=1\nCID={(uint)Random.Shared.NextInt64(0, 1L << 32):x}\nparentCID={parentCid:x}\n" +
                $"createType=\"{VmdkOptionParser.SubformatName(subformat)}\"\n{parentLine}\n# Extent description\n{lines}\n" +
                $"# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"{hardwareVersion ?? "4"}\"\n" +
                $"ddb.geometry.cylinders = \"{size / (63L * heads * 512)}\"\nddb.geometry.heads = \"{heads}\"\n" +
                $"ddb.geometry.sectors = \"63\"\nddb.adapterType = \"{options.AdapterType}\"\n" +
                $"ddb.toolsVersion = \"{options.ToolsVersion ?? "2147483647"}\"\n");
            var bytes = Encoding.UTF8.GetBytes(descriptor);
            if (!split && !flat)
            {
                if (bytes.Length > VmdkConstants.CidWindowBytes)
                {
                    throw new InvalidOptionException("The descriptor does not fit in its 20 sectors");
                }

                main.Write(VmdkConstants.SectorSize, bytes);
            }
            else
            {
                main.Write(0, bytes);
                main.SetLength(bytes.Length);
            }

            main.Flush();
        }
        catch
        {
            foreach (var file in created)
            {
                FailedCreate.Remove(file);
            }

            throw;
        }
    }

    /// <summary>
    /// The extent files beside the descriptor that <see cref="Create"/> makes for <paramref name="path"/> (none for the
    /// single-file subformats), so a copy that fails after creating them can remove them too.
    /// </summary>
    public static IEnumerable<string> SeparateExtentPaths(string path, VmdkCreateOptions options)
    {
        if (options.Subformat is VmdkSubformat.MonolithicSparse or VmdkSubformat.StreamOptimized || options.Size is not { } size || size < 0)
        {
            return [];
        }

        var directory = DirectoryOf(path);
        return SeparateExtents(FileNameOf(options.NamedAs ?? path), (size + 511) & ~511L, options.Subformat).Select(e => directory + e.Name);
    }

    /// <summary>QEMU's names and sizes of the extent files of the flat and split subformats, named after the descriptor.</summary>
    private static IEnumerable<(string Name, long Bytes)> SeparateExtents(string name, long size, VmdkSubformat subformat)
    {
        var flat = subformat is VmdkSubformat.MonolithicFlat or VmdkSubformat.TwoGbMaxExtentFlat;
        var split = subformat is VmdkSubformat.TwoGbMaxExtentFlat or VmdkSubformat.TwoGbMaxExtentSparse;
        var dot = name.LastIndexOf('.');
        var prefix = dot < 0 ? name : name[..dot];
        var postfix = dot < 0 ? "" : name[dot..];
        var extentSize = split ? VmdkConstants.SplitExtentBytes : size;
        var done = 0L;
        for (var index = 1; done < size; index++)
        {
            var current = Math.Min(size - done, extentSize);
            var extentName = split
                ? string.Create(CultureInfo.InvariantCulture, $"{prefix}-{(flat ? 'f' : 's')}{index:000}{postfix}")
                : $"{prefix}-flat{postfix}";
            yield return (extentName, current);
            done += current;
        }
    }

    private static string DirectoryOf(string path) => path[..(path.LastIndexOf('/') + 1)];

    private static string FileNameOf(string path) => path[(path.LastIndexOf('/') + 1)..];

    private static uint ReadParentCid(string path, VmdkCreateOptions options)
    {
        var registry = options.Registry ?? ImageFormatRegistry.Default;
        var backingPath = VmdkImage.ResolveBackingPath(path, options.BackingFile!);
        using var backing = registry.Open(backingPath, options.BackingFormat, new ImageOpenOptions { OpenBackingChain = false, Registry = registry, MetadataOnly = true });
        if (backing is not VmdkImage parent)
        {
            throw new InvalidOptionException($"Invalid backing file format: {backing.Format.Name}. Must be vmdk");
        }

        return parent.Cid;
    }

    /// <summary>Lays out one extent file: flat ones are sized, sparse ones get their header and tables.</summary>
    private static void InitExtent(IStorage file, long size, bool flat, bool compress, bool zeroedGrain)
    {
        if (flat)
        {
            file.SetLength(size);
            return;
        }

        var capacity = size / VmdkConstants.SectorSize;
        var grains = (capacity + Granularity - 1) / Granularity;
        var tableSectors = (TableEntries * 4 + 511) / 512;
        var tableCount = (grains + TableEntries - 1) / TableEntries;
        var directorySectors = (tableCount * 4 + 511) / 512;
        const long descriptorOffset = 1;
        const long descriptorSize = 20;
        var redundantOffset = descriptorOffset + descriptorSize;
        var directoryOffset = redundantOffset + directorySectors + tableSectors * tableCount;
        var grainOffset = (directoryOffset + directorySectors + tableSectors * tableCount + Granularity - 1) / Granularity * Granularity;
        var header = new VmdkSparseHeader
        {
            Version = compress ? 3u : zeroedGrain ? 2u : 1u,
            Flags = VmdkConstants.FlagRedundantGrainTable | VmdkConstants.FlagNewlineDetect
                | (compress ? VmdkConstants.FlagCompressed | VmdkConstants.FlagMarkers : 0)
                | (zeroedGrain ? VmdkConstants.FlagZeroGrain : 0),
            CompressAlgorithm = compress ? VmdkConstants.CompressionDeflate : (ushort)0,
            Capacity = (ulong)capacity,
            Granularity = Granularity,
            GrainTableEntries = TableEntries,
            DescriptorOffset = descriptorOffset,
            DescriptorSize = descriptorSize,
            RedundantDirectoryOffset = (ulong)redundantOffset,
            DirectoryOffset = (ulong)directoryOffset,
            GrainOffset = (ulong)grainOffset,
        };
        var block = new byte[VmdkSparseHeader.Size];
        header.Write(block);
        file.Write(0, block);
        file.SetLength(grainOffset << 9);
        var directory = new byte[directorySectors * 512];
        WriteDirectory(file, directory, redundantOffset, directorySectors, tableSectors, tableCount);
        WriteDirectory(file, directory, directoryOffset, directorySectors, tableSectors, tableCount);
    }

    private static void WriteDirectory(IStorage file, byte[] directory, long offset, long directorySectors, long tableSectors, long tableCount)
    {
        var table = offset + directorySectors;
        for (var i = 0; i < tableCount; i++, table += tableSectors)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(directory.AsSpan(i * 4), (uint)table);
        }

        file.Write(offset * 512, directory);
    }
}
