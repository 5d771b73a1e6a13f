using DiskImage.IO;

namespace DiskImage.Formats.Vvfat;

/// <summary>
/// The vvfat node, read-only: sectors come from the built MBR and boot sector, the FAT (twice), the directory table,
/// or the host files, a cluster at a time. As in QEMU, a file cluster is read into one cluster buffer; where the file
/// ends inside it the rest of the buffer keeps the bytes of the file cluster read before (zeros at first). Every
/// region reports as data, as QEMU's driver does.
/// </summary>
internal sealed class VvfatStorage : ReadOnlyStorage
{
    private readonly VvfatLayout _layout;
    private readonly byte[] _cluster = new byte[VvfatLayout.ClusterSize];
    private readonly Lock _lock = new();
    private long _currentCluster = -1;
    private VvfatMapping? _openMapping;
    private FileStream? _openFile;

    private VvfatStorage(VvfatLayout layout) => _layout = layout;

    /// <summary>Builds the disk of a <c>fat:</c> name; writing (QEMU's <c>rw:</c>, which needs a qcow overlay) is refused.</summary>
    public static VvfatStorage Open(string name, bool writable)
    {
        var parsed = VvfatName.Parse(name);
        if (parsed.ReadWrite)
        {
            // QEMU writes back through a temporary qcow overlay; that machinery is not here.
            throw writable
                ? new UnsupportedFeatureException("Writing to a vvfat directory (fat:rw:) is not supported")
                : new ImageAccessException("Unable to set VVFAT to 'rw' when drive is read-only");
        }

        if (writable)
        {
            throw new ImageAccessException("Image is read-only");
        }

        return new VvfatStorage(VvfatLayout.Build(parsed));
    }

    public override string Path => _layout.Name.RawJson;

    /// <summary>The vvfat node's own name (<c>json:</c> with its options), as <c>-f vvfat</c> shows it.</summary>
    public string NodeName => Options.JsonFilename.Prefix + _layout.Name.NodeJson;

    public override long Length => _layout.TotalSectors * VvfatLayout.SectorSize;

    public override long? AllocatedSize => null;

    public override void Read(long offset, Span<byte> buffer)
    {
        if (offset < 0 || offset > Length - buffer.Length)
        {
            throw new ErrnoException(ErrnoException.EINVAL, "Invalid argument");
        }

        lock (_lock)
        {
            while (buffer.Length > 0)
            {
                var sector = offset / VvfatLayout.SectorSize;
                var within = (int)(offset % VvfatLayout.SectorSize);
                var count = Math.Min(buffer.Length, VvfatLayout.SectorSize - within);
                SectorBytes(sector).Slice(within, count).CopyTo(buffer);
                buffer = buffer[count..];
                offset += count;
            }
        }
    }

    public override int ReadAvailable(long offset, Span<byte> buffer)
    {
        var count = (int)Math.Clamp(Length - offset, 0, buffer.Length);
        Read(offset, buffer[..count]);
        return count;
    }

    private static readonly byte[] ZeroSector = new byte[VvfatLayout.SectorSize];

    /// <summary>One sector of the disk, as QEMU's driver serves it.</summary>
    private ReadOnlySpan<byte> SectorBytes(long sector)
    {
        var l = _layout;
        if (sector < l.OffsetToFat)
        {
            return l.FirstSectors.AsSpan((int)(sector * VvfatLayout.SectorSize), VvfatLayout.SectorSize);
        }

        if (sector < l.OffsetToRootDir)
        {
            var inFat = (sector - l.OffsetToFat) % l.SectorsPerFat;
            return l.Fat.AsSpan((int)(inFat * VvfatLayout.SectorSize), VvfatLayout.SectorSize);
        }

        var relative = sector - l.OffsetToRootDir;
        var cluster = relative / VvfatLayout.SectorsPerCluster;
        var start = (int)(relative % VvfatLayout.SectorsPerCluster) * VvfatLayout.SectorSize;
        if (cluster > l.ClusterCount || FindMapping(cluster) is not { } mapping)
        {
            return ZeroSector;
        }

        if (mapping.IsDirectory)
        {
            _currentCluster = cluster;
            var offset = ((cluster - mapping.Begin) * VvfatLayout.ClusterSize) + (mapping.FirstDirIndex * VvfatNames.EntrySize) + start;
            return _layout.Directory.AsSpan((int)offset, VvfatLayout.SectorSize);
        }

        if (_currentCluster != cluster && !ReadFileCluster(mapping, cluster))
        {
            return ZeroSector;
        }

        return _cluster.AsSpan(start, VvfatLayout.SectorSize);
    }

    /// <summary>Reads a file's cluster into the buffer; a short read leaves the buffer's tail as it was.</summary>
    private bool ReadFileCluster(VvfatMapping mapping, long cluster)
    {
        try
        {
            if (_openMapping != mapping)
            {
                // One host file open at a time, the one whose clusters are being read (as QEMU keeps its current file).
                _openFile?.Dispose();
                _openFile = null;
                _openMapping = null;
                _openFile = new FileStream(mapping.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
                _openMapping = mapping;
            }

            var file = _openFile!;
            file.Position = (cluster - mapping.Begin) * VvfatLayout.ClusterSize;
            var total = 0;
            int read;
            while (total < _cluster.Length && (read = file.Read(_cluster, total, _cluster.Length - total)) > 0)
            {
                total += read;
            }

            _currentCluster = cluster;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private VvfatMapping? FindMapping(long cluster)
    {
        var mappings = _layout.Mappings;
        int low = 0, high = mappings.Count - 1;
        while (low <= high)
        {
            var middle = (low + high) / 2;
            if (cluster < mappings[middle].Begin)
            {
                high = middle - 1;
            }
            else if (cluster >= mappings[middle].End)
            {
                low = middle + 1;
            }
            else
            {
                return mappings[middle];
            }
        }

        return null;
    }

    /// <summary>The vvfat driver's refusal of a write to a directory opened without <c>rw:</c>.</summary>
    protected override Exception Refusal() => new ErrnoException(ErrnoException.EPERM, "Operation not permitted");

    public override void Dispose()
    {
        lock (_lock)
        {
            _openFile?.Dispose();
            _openFile = null;
            _openMapping = null;
        }
    }
}
