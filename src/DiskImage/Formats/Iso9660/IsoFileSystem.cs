using DiskImage.Formats.Raw;
using DiskImage.IO;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// A read-only view of an ISO 9660 image: volume descriptors, the directory tree (Rock Ridge names
/// first, then Joliet, then plain ISO 9660), El Torito boot entries and file contents. Every
/// location read from the image is checked against the image size before it is used.
/// </summary>
public sealed class IsoFileSystem : IDisposable
{
    private const uint PosixTypeMask = 0xF000;
    private const uint PosixSymlink = 0xA000;
    private const uint PosixDirectory = 0x4000;

    private readonly IBlockDevice _device;
    private readonly bool _ownsDevice;
    private readonly VolumeDescriptor _volume;
    private readonly int _suspSkip;

    private IsoFileSystem(IBlockDevice device, bool ownsDevice)
    {
        _device = device;
        _ownsDevice = ownsDevice;
        if (device.Length < IsoConstants.FirstDescriptorOffset + IsoConstants.SectorSize)
        {
            throw new InvalidImageException("Image is too small to hold an ISO 9660 volume descriptor");
        }

        var systemArea = new byte[IsoConstants.FirstDescriptorOffset];
        device.Read(0, systemArea);
        var descriptors = ReadDescriptors(out var catalogLba);
        var primary = descriptors.Find(d => d.Type == VolumeDescriptorType.Primary)
            ?? throw new InvalidImageException("ISO 9660 image has no primary volume descriptor", IsoConstants.FirstDescriptorOffset);
        var joliet = descriptors.Find(d => d.IsJoliet);
        var enhanced = descriptors.Find(d => d.IsEnhanced && !d.IsJoliet);

        var rockRidge = DetectRockRidge(primary, out _suspSkip);
        (Tree, _volume) = rockRidge ? (IsoTreeKind.RockRidge, primary)
            : joliet is not null ? (IsoTreeKind.Joliet, joliet)
            : enhanced is not null ? (IsoTreeKind.Enhanced, enhanced)
            : (IsoTreeKind.Iso9660, primary);
        PathTableCheck.Verify(device, primary);
        if (joliet is not null)
        {
            PathTableCheck.Verify(device, joliet);
        }

        Volume = new IsoVolumeInfo
        {
            VolumeId = primary.VolumeId,
            SystemId = primary.SystemId,
            PublisherId = primary.PublisherId,
            DataPreparerId = primary.DataPreparerId,
            ApplicationId = primary.ApplicationId,
            VolumeSetId = primary.VolumeSetId,
            CreationTime = primary.CreationDate,
            ModificationTime = primary.ModificationDate,
            VolumeSize = (long)primary.VolumeSpaceSize * IsoConstants.SectorSize,
            JolietLevel = joliet?.JolietLevel ?? 0,
            RockRidge = rockRidge,
            Enhanced = enhanced is not null,
            BootEntries = catalogLba is { } lba ? ElToritoCatalog.Read(device, lba) : [],
            SystemAreaPartitioning = SystemAreaProbe.Detect(systemArea),
            Tree = Tree,
        };
        Root = MakeRoot(_volume.Root);
    }

    /// <summary>What the volume descriptors say.</summary>
    public IsoVolumeInfo Volume { get; }

    /// <summary>The tree names and attributes come from.</summary>
    public IsoTreeKind Tree { get; }

    /// <summary>The root directory.</summary>
    public IsoNode Root { get; }

    /// <summary>Opens an ISO image file read-only.</summary>
    public static IsoFileSystem Open(string path)
    {
        var image = RawFormat.Instance.Open(path, new ImageOpenOptions { ReadOnly = true });
        try
        {
            return new IsoFileSystem(image, ownsDevice: true);
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    /// <summary>Reads an ISO 9660 volume from any block device (a raw file, or a qcow2 image holding an ISO).</summary>
    public static IsoFileSystem Open(IBlockDevice device, bool leaveOpen = false) => new(device, !leaveOpen);

    /// <summary>Whether the 32 KiB-offset descriptor starts with "CD001", without parsing anything else.</summary>
    public static bool HasIsoSignature(ReadOnlySpan<byte> header) =>
        header.Length >= IsoConstants.FirstDescriptorOffset + 6 && header.Slice((int)IsoConstants.FirstDescriptorOffset + 1, 5).SequenceEqual(IsoConstants.StandardIdentifier);

    /// <summary>Finds a node by absolute path ("/" or "" is the root); null when there is none.</summary>
    public IsoNode? Find(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var node = Root;
        var visited = new HashSet<long> { Root.DirectoryOffset };
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (node.Kind != IsoNodeKind.Directory)
            {
                return null;
            }

            var next = GetChildren(node).FirstOrDefault(c => c.Name == part);
            if (next is null)
            {
                return null;
            }

            if (next.Kind == IsoNodeKind.Directory && !visited.Add(next.DirectoryOffset))
            {
                throw LoopError(next);
            }

            node = next;
        }

        return node;
    }

    /// <summary>The entries of a directory in recorded order ("." and ".." and relocated directories left out).</summary>
    public IReadOnlyList<IsoNode> GetChildren(IsoNode directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (directory.Kind != IsoNodeKind.Directory)
        {
            throw new ArgumentException($"'{directory.Path}' is not a directory", nameof(directory));
        }

        if (directory.Depth >= IsoConstants.MaxDirectoryDepth)
        {
            throw new InvalidImageException($"ISO 9660 directories nest deeper than {IsoConstants.MaxDirectoryDepth} levels at '{directory.Path}'", directory.DirectoryOffset);
        }

        var children = new List<IsoNode>();
        var group = new List<DirectoryRecord>();
        foreach (var record in ReadRecords(directory.DirectoryOffset, directory.Size))
        {
            if (record.IsSelf || record.IsParent)
            {
                continue;
            }

            if (group.Count > 0 && !group[0].RawName.AsSpan().SequenceEqual(record.RawName))
            {
                throw new InvalidImageException($"ISO 9660 multi-extent file at offset {group[0].FileOffset} is not continued by a record of the same name", record.FileOffset);
            }

            group.Add(record);
            if (record.IsMultiExtent)
            {
                continue;
            }

            var node = MakeNode(directory, group);
            group = [];
            if (node is not null)
            {
                children.Add(node);
            }
        }

        if (group.Count > 0)
        {
            throw new InvalidImageException($"ISO 9660 multi-extent file at offset {group[0].FileOffset} has no final extent", group[0].FileOffset);
        }

        return children;
    }

    /// <summary>
    /// Every node under <paramref name="start"/> (default: the root), depth first, parents before
    /// children. A directory reached twice means a loop and is refused.
    /// </summary>
    public IEnumerable<IsoNode> Walk(IsoNode? start = null)
    {
        start ??= Root;
        if (start.Kind != IsoNodeKind.Directory)
        {
            yield return start;
            yield break;
        }

        var visited = new HashSet<long> { start.DirectoryOffset };
        var stack = new Stack<IEnumerator<IsoNode>>();
        stack.Push(GetChildren(start).GetEnumerator());
        var count = 0L;
        while (stack.Count > 0)
        {
            var siblings = stack.Peek();
            if (!siblings.MoveNext())
            {
                stack.Pop();
                continue;
            }

            var child = siblings.Current;
            if (++count > IsoConstants.MaxRecordsPerWalk)
            {
                throw new InvalidImageException($"ISO 9660 tree has more than {IsoConstants.MaxRecordsPerWalk} entries");
            }

            yield return child;
            if (child.Kind == IsoNodeKind.Directory)
            {
                if (!visited.Add(child.DirectoryOffset))
                {
                    throw LoopError(child);
                }

                stack.Push(GetChildren(child).GetEnumerator());
            }
        }
    }

    /// <summary>Copies a file's content to <paramref name="destination"/>.</summary>
    public void CopyTo(IsoNode file, Stream destination)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(destination);
        var buffer = new byte[1 << 20];
        foreach (var extent in file.Extents)
        {
            for (var done = 0L; done < extent.Length;)
            {
                var chunk = (int)Math.Min(buffer.Length, extent.Length - done);
                _device.Read(extent.Offset + done, buffer.AsSpan(0, chunk));
                destination.Write(buffer, 0, chunk);
                done += chunk;
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsDevice)
        {
            _device.Dispose();
        }
    }

    private static InvalidImageException LoopError(IsoNode node) =>
        new($"ISO 9660 directory loop: '{node.Path}' points back to a directory already visited", node.DirectoryOffset);

    private List<VolumeDescriptor> ReadDescriptors(out uint? catalogLba)
    {
        catalogLba = null;
        var descriptors = new List<VolumeDescriptor>();
        var sector = new byte[IsoConstants.SectorSize];
        for (var i = 0; i < IsoConstants.MaxDescriptors; i++)
        {
            var offset = IsoConstants.FirstDescriptorOffset + ((long)i * IsoConstants.SectorSize);
            if (offset + IsoConstants.SectorSize > _device.Length)
            {
                throw new InvalidImageException("ISO 9660 volume descriptor set has no terminator before the end of the image", offset);
            }

            _device.Read(offset, sector);
            if (!sector.AsSpan(1, 5).SequenceEqual(IsoConstants.StandardIdentifier))
            {
                throw new InvalidImageException(i == 0 ? "Not an ISO 9660 image (no CD001 at offset 32768)" : $"ISO 9660 volume descriptor at offset {offset} has no CD001 identifier", offset);
            }

            switch ((VolumeDescriptorType)sector[0])
            {
                case VolumeDescriptorType.Terminator:
                    return descriptors;
                case VolumeDescriptorType.Primary:
                case VolumeDescriptorType.Supplementary:
                    descriptors.Add(VolumeDescriptor.Parse(sector, offset));
                    break;
                case VolumeDescriptorType.BootRecord when ElToritoCatalog.IsElToritoBootRecord(sector) && catalogLba is null:
                    catalogLba = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(sector.AsSpan(ElToritoCatalog.CatalogPointerOffset));
                    break;
            }
        }

        throw new InvalidImageException($"ISO 9660 volume descriptor set is longer than {IsoConstants.MaxDescriptors} descriptors", IsoConstants.FirstDescriptorOffset);
    }

    /// <summary>SUSP is in use when the root's "." record starts with SP; Rock Ridge when ER or RRIP entries follow.</summary>
    private bool DetectRockRidge(VolumeDescriptor primary, out int skip)
    {
        skip = 0;
        var (offset, size) = DirectoryExtent(primary.Root);
        var self = ReadRecords(offset, size).FirstOrDefault();
        if (self is null || !self.IsSelf)
        {
            return false;
        }

        var use = self.SystemUse;
        if (use.Length < 7 || use[0] != 'S' || use[1] != 'P' || use[4] != 0xBE || use[5] != 0xEF)
        {
            return false;
        }

        skip = use[6];
        var entries = SuspReader.Read(_device, use, 0, self.FileOffset);
        var hasExtension = entries.Any(e => e.Signature == "ER" && ExtensionIsRockRidge(e.Data));
        return hasExtension || RockRidgeParser.Parse(entries, self.FileOffset).Present;
    }

    private static bool ExtensionIsRockRidge(byte[] data)
    {
        if (data.Length < 4 || 4 + data[0] > data.Length)
        {
            return false;
        }

        var id = System.Text.Encoding.ASCII.GetString(data, 4, data[0]);
        return id.StartsWith("RRIP", StringComparison.Ordinal) || id.StartsWith("IEEE_P1282", StringComparison.Ordinal) || id.StartsWith("IEEE_1282", StringComparison.Ordinal);
    }

    private IsoNode MakeRoot(DirectoryRecord rootRecord)
    {
        var (offset, size) = DirectoryExtent(rootRecord);
        RockRidgeAttributes? rr = null;
        if (Tree == IsoTreeKind.RockRidge && ReadRecords(offset, size).FirstOrDefault() is { IsSelf: true } self)
        {
            rr = RockRidgeOf(self);
        }

        return new IsoNode
        {
            Path = "/",
            Name = "",
            Kind = IsoNodeKind.Directory,
            Size = size,
            Extents = [],
            Mode = rr?.Mode & 0xFFF,
            Uid = rr?.Uid,
            Gid = rr?.Gid,
            ModificationTime = rr?.Modification ?? rootRecord.RecordingDate,
            AccessTime = rr?.Access,
            DirectoryOffset = offset,
        };
    }

    private IsoNode? MakeNode(IsoNode parent, List<DirectoryRecord> records)
    {
        var first = records[0];
        var rr = Tree == IsoTreeKind.RockRidge ? RockRidgeOf(first) : null;
        if (rr is { Relocated: true })
        {
            return null;
        }

        var isDirectory = first.IsDirectory;
        long directoryOffset = 0;
        long size;
        if (rr?.ChildLink is { } childBlock)
        {
            // A placeholder for a directory moved away to keep the ISO 9660 tree shallow; read it where it lives.
            var relocated = ReadSelfRecord(childBlock, first.FileOffset);
            (directoryOffset, size) = DirectoryExtent(relocated);
            var own = RockRidgeOf(relocated);
            own.Name = rr.Name;
            rr = own;
            isDirectory = true;
        }
        else if (isDirectory)
        {
            if (records.Count > 1)
            {
                throw new InvalidImageException("ISO 9660 directory record is marked multi-extent", first.FileOffset);
            }

            (directoryOffset, size) = DirectoryExtent(first);
        }
        else
        {
            size = 0;
        }

        var name = rr is { Name: { } rrName, NameIsSpecial: false } ? rrName
            : Tree == IsoTreeKind.Joliet ? IsoNames.FromJoliet(first.RawName, isDirectory)
            : IsoNames.FromIso9660(first.RawName, isDirectory);
        IsoNames.Check(name, first.FileOffset);

        var mode = rr?.Mode;
        var kind = isDirectory ? IsoNodeKind.Directory
            : rr?.SymlinkTarget is not null || (mode & PosixTypeMask) == PosixSymlink ? IsoNodeKind.Symlink
            : IsoNodeKind.File;
        if (kind == IsoNodeKind.File && (mode & PosixTypeMask) == PosixDirectory)
        {
            throw new InvalidImageException($"Rock Ridge marks file record '{name}' as a directory", first.FileOffset);
        }

        var extents = new List<IsoExtent>();
        if (kind == IsoNodeKind.File)
        {
            foreach (var record in records)
            {
                var (offset, length) = Extent(record);
                if (length > 0)
                {
                    extents.Add(new IsoExtent(offset, length));
                    size += length;
                }
            }
        }

        return new IsoNode
        {
            Path = parent.Path == "/" ? "/" + name : parent.Path + "/" + name,
            Name = name,
            Kind = kind,
            Size = kind == IsoNodeKind.Symlink ? 0 : size,
            Extents = extents,
            Mode = mode & 0xFFF,
            Uid = rr?.Uid,
            Gid = rr?.Gid,
            ModificationTime = rr?.Modification ?? first.RecordingDate,
            AccessTime = rr?.Access,
            SymlinkTarget = kind == IsoNodeKind.Symlink ? rr?.SymlinkTarget ?? "" : null,
            IsZisofs = rr?.Compression is not null,
            Depth = parent.Depth + 1,
            DirectoryOffset = directoryOffset,
        };
    }

    private RockRidgeAttributes RockRidgeOf(DirectoryRecord record) =>
        RockRidgeParser.Parse(SuspReader.Read(_device, record.SystemUse, _suspSkip, record.FileOffset), record.FileOffset);

    private DirectoryRecord ReadSelfRecord(uint block, long referencedFrom)
    {
        var offset = (long)block * IsoConstants.SectorSize;
        if (offset + IsoConstants.SectorSize > _device.Length)
        {
            throw new InvalidImageException($"Rock Ridge child link to block {block} lies past the end of the image", referencedFrom);
        }

        var self = ReadRecords(offset, IsoConstants.SectorSize).FirstOrDefault();
        if (self is null || !self.IsSelf || !self.IsDirectory)
        {
            throw new InvalidImageException($"Rock Ridge child link to block {block} does not point at a directory", referencedFrom);
        }

        return self;
    }

    /// <summary>Byte offset and length of a record's extent, checked to lie inside the image.</summary>
    private (long Offset, long Length) Extent(DirectoryRecord record)
    {
        var offset = ((long)record.ExtentLocation + record.ExtendedAttributeLength) * IsoConstants.SectorSize;
        long length = record.DataLength;
        if (length > 0 && offset + length > _device.Length)
        {
            throw new InvalidImageException($"ISO 9660 extent at block {record.ExtentLocation} ({length} bytes) lies past the end of the {_device.Length}-byte image", record.FileOffset);
        }

        return (offset, length);
    }

    private (long Offset, long Length) DirectoryExtent(DirectoryRecord record)
    {
        var (offset, length) = Extent(record);
        if (length == 0 || length > int.MaxValue)
        {
            throw new InvalidImageException($"ISO 9660 directory at block {record.ExtentLocation} has invalid size {length}", record.FileOffset);
        }

        return (offset, length);
    }

    /// <summary>The records of a directory extent; a record never crosses a sector boundary, zero fill ends a sector.</summary>
    private IEnumerable<DirectoryRecord> ReadRecords(long offset, long size)
    {
        var sector = new byte[IsoConstants.SectorSize];
        for (var done = 0L; done < size; done += IsoConstants.SectorSize)
        {
            var valid = (int)Math.Min(IsoConstants.SectorSize, size - done);
            _device.Read(offset + done, sector.AsSpan(0, valid));
            var position = 0;
            while (position < valid)
            {
                int length = sector[position];
                if (length == 0)
                {
                    break;
                }

                if (position + length > valid)
                {
                    throw new InvalidImageException($"ISO 9660 directory record at offset {offset + done + position} crosses a sector boundary", offset + done + position);
                }

                yield return DirectoryRecord.Parse(sector.AsSpan(position, length), offset + done + position);
                position += length;
            }
        }
    }
}
