using System.Text;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// Decides where everything goes in the image: names, directory and path table sizes, Rock Ridge
/// continuation areas, then block numbers for descriptors, tables, directories and file data.
/// </summary>
internal sealed class IsoLayout
{
    private const uint TypeFileMask = 0b001_001_001;

    private IsoLayout(IsoBuilder builder)
    {
        Options = builder.Options;
        Root = builder.Root;
    }

    public IsoBuildOptions Options { get; }
    public IsoBuildNode Root { get; }
    public bool RockRidge => Options.RockRidge != IsoRockRidgeMode.None;
    public List<IsoBuildNode> IsoDirectories { get; } = [];
    public List<IsoBuildNode> JolietDirectories { get; } = [];
    public List<IsoBuildNode> Files { get; } = [];
    public List<(IsoBootImage Image, IsoBuildNode Node)> BootImages { get; } = [];
    public List<SuspChain.Area> ContinuationAreas { get; } = [];

    public uint BootRecordBlock { get; private set; }
    public uint JolietDescriptorBlock { get; private set; }
    public uint TerminatorBlock { get; private set; }
    public uint IsoPathTableSize { get; private set; }
    public uint JolietPathTableSize { get; private set; }
    public uint IsoPathTableL { get; private set; }
    public uint IsoPathTableM { get; private set; }
    public uint JolietPathTableL { get; private set; }
    public uint JolietPathTableM { get; private set; }
    public uint CatalogBlock { get; private set; }
    public uint ContinuationStart { get; private set; }
    public uint ContinuationBlocks { get; private set; }
    public uint TotalBlocks { get; private set; }

    public static IsoLayout Create(IsoBuilder builder)
    {
        var layout = new IsoLayout(builder);
        layout.Prepare();
        layout.AssignNames(layout.Root);
        layout.CollectDirectories();
        if (layout.RockRidge)
        {
            layout.BuildSusp();
        }

        layout.AssignBlocks();
        return layout;
    }

    /// <summary>The records of a directory in the ISO 9660 tree, in order: ".", "..", then children.</summary>
    public IEnumerable<IsoRecordSpec> IsoRecords(IsoBuildNode directory)
    {
        var parent = directory.Parent ?? directory;
        yield return new IsoRecordSpec([0], directory.DirectoryBlock, directory.DirectorySize, DirectoryRecord.FlagDirectory, directory.ModificationTime, directory.SelfSusp);
        yield return new IsoRecordSpec([1], parent.DirectoryBlock, parent.DirectorySize, DirectoryRecord.FlagDirectory, parent.ModificationTime, directory.ParentSusp);
        foreach (var child in directory.IsoOrder)
        {
            foreach (var record in ChildRecords(child, child.IsoName.Bytes, child.DirectoryBlock, child.DirectorySize, child.OwnSusp))
            {
                yield return record;
            }
        }
    }

    /// <summary>The records of a directory in the Joliet tree.</summary>
    public IEnumerable<IsoRecordSpec> JolietRecords(IsoBuildNode directory)
    {
        var parent = directory.Parent ?? directory;
        yield return new IsoRecordSpec([0], directory.JolietDirectoryBlock, directory.JolietDirectorySize, DirectoryRecord.FlagDirectory, directory.ModificationTime, null);
        yield return new IsoRecordSpec([1], parent.JolietDirectoryBlock, parent.JolietDirectorySize, DirectoryRecord.FlagDirectory, parent.ModificationTime, null);
        foreach (var child in directory.JolietOrder)
        {
            var name = Encoding.BigEndianUnicode.GetBytes(child.JolietName);
            foreach (var record in ChildRecords(child, name, child.JolietDirectoryBlock, child.JolietDirectorySize, null))
            {
                yield return record;
            }
        }
    }

    private static IEnumerable<IsoRecordSpec> ChildRecords(IsoBuildNode child, byte[] name, uint directoryBlock, uint directorySize, SuspChain? susp)
    {
        if (child.Kind == IsoNodeKind.Directory)
        {
            yield return new IsoRecordSpec(name, directoryBlock, directorySize, DirectoryRecord.FlagDirectory, child.ModificationTime, susp);
            yield break;
        }

        var size = child.Kind == IsoNodeKind.Symlink ? 0 : child.Size;
        var sections = Math.Max(1, (size + IsoConstants.MaxExtentSize - 1) / IsoConstants.MaxExtentSize);
        for (var i = 0L; i < sections; i++)
        {
            var sectionSize = (uint)Math.Min(IsoConstants.MaxExtentSize, size - (i * IsoConstants.MaxExtentSize));
            var block = child.DataBlock + (uint)(i * (IsoConstants.MaxExtentSize / IsoConstants.SectorSize));
            var flags = i < sections - 1 ? DirectoryRecord.FlagMultiExtent : (byte)0;
            yield return new IsoRecordSpec(name, block, sectionSize, flags, child.ModificationTime, susp);
        }
    }

    private void Prepare()
    {
        if (Options.RockRidge == IsoRockRidgeMode.Rationalized)
        {
            Rationalize(Root);
        }

        if (Options.BootImages.Count > 0 && Options.BootCatalogPath is { } catalogPath)
        {
            var parts = catalogPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
            var parent = Root;
            foreach (var part in parts[..^1])
            {
                if (!parent.Children.TryGetValue(part, out var next) || next.Kind != IsoNodeKind.Directory)
                {
                    throw new InvalidOptionException($"Boot catalog directory for '{catalogPath}' does not exist in the image");
                }

                parent = next;
            }

            if (parts.Length == 0 || parent.Children.ContainsKey(parts[^1]))
            {
                throw new InvalidOptionException($"Boot catalog path '{catalogPath}' is invalid or already taken");
            }

            var catalog = new IsoBuildNode
            {
                Name = parts[^1], Kind = IsoNodeKind.File, IsBootCatalog = true, Size = IsoConstants.SectorSize,
                Mode = Options.RockRidge == IsoRockRidgeMode.Rationalized ? 0b100_100_100u : 0b110_100_100u,
                ModificationTime = Root.ModificationTime, AccessTime = Root.AccessTime, Parent = parent,
            };
            parent.Children[catalog.Name] = catalog;
        }

        foreach (var boot in Options.BootImages)
        {
            var node = Find(boot.ImagePath);
            if (node is null || node.Kind != IsoNodeKind.File || node.IsBootCatalog)
            {
                throw new InvalidOptionException($"Boot image '{boot.ImagePath}' is not a file in the image");
            }

            BootImages.Add((boot, node));
        }
    }

    private IsoBuildNode? Find(string path)
    {
        var node = Root;
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!node.Children.TryGetValue(part, out node))
            {
                return null;
            }
        }

        return node;
    }

    /// <summary><c>-r</c>: owner 0, everything readable, nothing writable, execute for all where any was set.</summary>
    private static void Rationalize(IsoBuildNode node)
    {
        node.Uid = 0;
        node.Gid = 0;
        node.Mode = node.Kind switch
        {
            IsoNodeKind.Directory => 0b101_101_101,
            IsoNodeKind.Symlink => 0b101_101_101,
            _ => 0b100_100_100 | ((node.Mode & TypeFileMask) != 0 ? TypeFileMask : 0),
        };
        foreach (var child in node.Children.Values)
        {
            Rationalize(child);
        }
    }

    private void AssignNames(IsoBuildNode directory)
    {
        var stack = new Stack<IsoBuildNode>();
        stack.Push(directory);
        while (stack.Count > 0)
        {
            var current = stack.Pop();
            current.IsoOrder = IsoNameMapper.AssignIsoNames(current.Children.Values);
            if (Options.Joliet)
            {
                current.JolietOrder = IsoNameMapper.AssignJolietNames(current.Children.Values);
            }

            foreach (var child in current.Children.Values.Where(c => c.Kind == IsoNodeKind.Directory))
            {
                stack.Push(child);
            }
        }
    }

    /// <summary>Breadth first in each tree's own order: the path table order of ECMA-119 9.4.</summary>
    private void CollectDirectories()
    {
        Breadth(IsoDirectories, d => d.IsoOrder);
        for (var i = 0; i < IsoDirectories.Count; i++)
        {
            IsoDirectories[i].PathNumber = checked((ushort)(i + 1));
        }

        if (Options.Joliet)
        {
            Breadth(JolietDirectories, d => d.JolietOrder);
            for (var i = 0; i < JolietDirectories.Count; i++)
            {
                JolietDirectories[i].JolietPathNumber = checked((ushort)(i + 1));
            }
        }

        void Breadth(List<IsoBuildNode> result, Func<IsoBuildNode, List<IsoBuildNode>> order)
        {
            result.Add(Root);
            for (var i = 0; i < result.Count; i++)
            {
                result.AddRange(order(result[i]).Where(c => c.Kind == IsoNodeKind.Directory));
            }
        }
    }

    private void BuildSusp()
    {
        var selfCapacity = IsoRecordSpec.SuspCapacity(1);
        foreach (var directory in IsoDirectories)
        {
            directory.SelfSusp = SuspChain.Split(directory.Parent is null ? RockRidgeWriter.ForRootSelf(directory) : RockRidgeWriter.ForRecord(directory, withName: false), selfCapacity);
            directory.ParentSusp = SuspChain.Split(RockRidgeWriter.ForRecord(directory.Parent ?? directory, withName: false), selfCapacity);
            foreach (var child in directory.IsoOrder)
            {
                child.OwnSusp = SuspChain.Split(RockRidgeWriter.ForRecord(child, withName: true), IsoRecordSpec.SuspCapacity(child.IsoName.Bytes.Length));
            }
        }
    }

    private void AssignBlocks()
    {
        var next = (uint)IsoConstants.FirstDescriptorSector + 1;
        if (BootImages.Count > 0)
        {
            BootRecordBlock = next++;
        }

        if (Options.Joliet)
        {
            JolietDescriptorBlock = next++;
        }

        TerminatorBlock = next++;

        IsoPathTableSize = PathTableSize(IsoDirectories, d => d.IsoName.Bytes.Length);
        IsoPathTableL = next;
        next += Blocks(IsoPathTableSize);
        IsoPathTableM = next;
        next += Blocks(IsoPathTableSize);
        if (Options.Joliet)
        {
            JolietPathTableSize = PathTableSize(JolietDirectories, d => d.JolietName.Length * 2);
            JolietPathTableL = next;
            next += Blocks(JolietPathTableSize);
            JolietPathTableM = next;
            next += Blocks(JolietPathTableSize);
        }

        if (BootImages.Count > 0)
        {
            CatalogBlock = next++;
        }

        foreach (var directory in IsoDirectories)
        {
            directory.DirectorySize = DirectorySize(IsoRecords(directory));
            directory.DirectoryBlock = next;
            next += Blocks(directory.DirectorySize);
        }

        foreach (var directory in JolietDirectories)
        {
            directory.JolietDirectorySize = DirectorySize(JolietRecords(directory));
            directory.JolietDirectoryBlock = next;
            next += Blocks(directory.JolietDirectorySize);
        }

        ContinuationStart = next;
        PlaceContinuationAreas();
        next += ContinuationBlocks;

        var stack = new Stack<IsoBuildNode>();
        stack.Push(Root);
        while (stack.Count > 0)
        {
            var directory = stack.Pop();
            foreach (var child in directory.IsoOrder)
            {
                if (child.IsBootCatalog)
                {
                    child.DataBlock = CatalogBlock;
                }
                else if (child.Kind == IsoNodeKind.File)
                {
                    child.DataBlock = next;
                    Files.Add(child);
                    var blocks = ((ulong)child.Size + IsoConstants.SectorSize - 1) / IsoConstants.SectorSize;
                    if (next + blocks > uint.MaxValue)
                    {
                        throw new InvalidOptionException("The files do not fit in an ISO 9660 volume (8 TiB)");
                    }

                    next += (uint)blocks;
                }
                else if (child.Kind == IsoNodeKind.Symlink)
                {
                    child.DataBlock = 0;
                }
            }

            for (var i = directory.IsoOrder.Count - 1; i >= 0; i--)
            {
                if (directory.IsoOrder[i].Kind == IsoNodeKind.Directory)
                {
                    stack.Push(directory.IsoOrder[i]);
                }
            }
        }

        TotalBlocks = next;
    }

    private void PlaceContinuationAreas()
    {
        var block = ContinuationStart;
        var offset = 0;
        var used = false;
        foreach (var directory in IsoDirectories)
        {
            foreach (var chain in new[] { directory.SelfSusp, directory.ParentSusp }.Concat(directory.IsoOrder.Select(c => c.OwnSusp)))
            {
                if (chain is null)
                {
                    continue;
                }

                foreach (var area in chain.Areas.Skip(1))
                {
                    if (offset + area.Length > IsoConstants.SectorSize)
                    {
                        block++;
                        offset = 0;
                    }

                    area.Block = block;
                    area.Offset = offset;
                    offset += area.Length;
                    used = true;
                    ContinuationAreas.Add(area);
                }
            }
        }

        ContinuationBlocks = used ? block - ContinuationStart + 1 : 0;
    }

    private static uint DirectorySize(IEnumerable<IsoRecordSpec> records)
    {
        var sectors = 1u;
        var used = 0;
        foreach (var record in records)
        {
            if (used + record.Length > IsoConstants.SectorSize)
            {
                sectors++;
                used = 0;
            }

            used += record.Length;
        }

        return sectors * IsoConstants.SectorSize;
    }

    private static uint PathTableSize(List<IsoBuildNode> directories, Func<IsoBuildNode, int> nameLength)
    {
        var size = 0u;
        foreach (var directory in directories)
        {
            var length = directory.Parent is null ? 1 : nameLength(directory);
            size += (uint)(8 + length + (length & 1));
        }

        return size;
    }

    private static uint Blocks(uint bytes) => (bytes + IsoConstants.SectorSize - 1) / IsoConstants.SectorSize;
}
