using DiskImage.IO;

namespace DiskImage.Formats.Vmdk;

/// <summary>
/// An open VMDK: its extents laid end to end, the parent (backing file) named by
/// <c>parentFileNameHint</c>, and the CIDs that tie the two together. Reads are thread-safe and
/// lock-free, so the copy engine's workers inflate stream-optimized grains in parallel.
/// </summary>
public sealed partial class VmdkImage : IDiskImage
{
    private readonly VmdkLayout _layout;
    private readonly List<VmdkExtent> _extents;
    private readonly long[] _starts;
    private readonly IDiskImage? _backing;
    private readonly string _path;
    private readonly bool _writable;
    private readonly object _writeLock = new();

    /// <summary>The json: name qemu-img prints for this image when it sits on a stacked, blkdebug or quorum node.</summary>
    private string? _displayName;
    private volatile bool _parentChecked;

    private VmdkImage(string path, VmdkLayout layout, bool writable, uint cid, uint parentCid, string? parentHint, IDiskImage? backing)
    {
        _path = path;
        _layout = layout;
        _extents = layout.Extents;
        _starts = [.. _extents.Select(e => e.Start)];
        _writable = writable;
        Cid = cid;
        ParentCid = parentCid;
        ParentHint = parentHint;
        _backing = backing;
        Length = _extents.Count == 0 ? 0 : _extents[^1].Start + _extents[^1].Bytes;
    }

    /// <inheritdoc/>
    public IImageFormat Format => VmdkFormat.Instance;

    /// <inheritdoc/>
    public string FilePath => _path;

    /// <inheritdoc/>
    public IDiskImage? Backing => _backing;

    /// <inheritdoc/>
    public long Length { get; }

    /// <inheritdoc/>
    public bool CanWrite => _writable;

    /// <summary>The content ID in the descriptor (changed on the first write after each open, as QEMU does).</summary>
    public uint Cid { get; private set; }

    /// <summary>The parent's CID this image was made against; 0xffffffff without a parent.</summary>
    public uint ParentCid { get; }

    /// <summary><c>parentFileNameHint</c>, as stored.</summary>
    public string? ParentHint { get; }

    /// <summary>The descriptor's createType.</summary>
    public string CreateType => _layout.CreateType;

    internal IReadOnlyList<VmdkExtent> Extents => _extents;

    internal static VmdkImage Open(string path, ImageOpenOptions options)
    {
        // A format node stacked under this one (a json: name's file.driver) holds the descriptor or sparse extent.
        // A blkdebug node between this format and its file (a json: name) sees the grain writes.
        var main = options.FileNode is { } node ? VmdkFile.Over(node(options, true), path, options.IgnoreFlushes)
            : options.Blkdebug is { Count: > 0 } rules ? VmdkFile.Over(Storage.WithRules(Storage.Open(path, !options.ReadOnly, options.LockFor(path, formatOwnsFile: true)), rules), path, options.IgnoreFlushes)
            : VmdkFile.Open(path, !options.ReadOnly, options.IgnoreFlushes, options.LockFor(path, formatOwnsFile: true));
        try
        {
            return Open(path, main, options);
        }
        catch
        {
            main.Dispose();
            throw;
        }
    }

    /// <summary>Opens a VMDK held in <paramref name="main"/> (a file, or a window into an OVA). Takes ownership of it.</summary>
    internal static VmdkImage Open(string path, VmdkFile main, ImageOpenOptions options)
    {
        var layout = VmdkOpener.Open(main, options);
        try
        {
            var text = layout.DescriptorText;
            var hint = VmdkDescriptor.ReadParentHint(text);
            var cid = VmdkDescriptor.ReadCid(text, parent: false) ?? throw new InvalidImageException("Invalid VMDK descriptor: no CID");
            var parentCid = VmdkDescriptor.ReadCid(text, parent: true) ?? throw new InvalidImageException("Invalid VMDK descriptor: no parentCID");
            IDiskImage? backing = null;
            if (hint is not null)
            {
                if (options.Untrusted)
                {
                    throw new UnsupportedFeatureException($"Untrusted image names a backing file ('{hint}'); refused");
                }

                if (options.OpenBackingChain)
                {
                    backing = BackingChain.Open(path, BackingChain.ResolveForNode(path, hint), VmdkFormat.Instance.Name, options);
                }
            }

            return new VmdkImage(path, layout, !options.ReadOnly, cid, parentCid, hint, backing) { _displayName = options.StackedDisplayName };
        }
        catch
        {
            DisposeExtents(layout);
            throw;
        }
    }

    /// <summary>The parent hint resolved as the other formats resolve a backing name (a json: or NBD name stays whole).</summary>
    internal static string ResolveBackingPath(string overlayPath, string backingFile) =>
        Qcow2.Qcow2Image.ResolveBackingPath(overlayPath, backingFile);

    /// <inheritdoc/>
    public ImageInfo GetInfo()
    {
        var uniform = _extents.Skip(1).All(e => e.Flat == _extents[0].Flat && e.Compressed == _extents[0].Compressed
            && (e.Flat || e.ClusterSectors == _extents[0].ClusterSectors));
        var files = new List<VmdkFile> { _layout.Main };
        files.AddRange(_extents.Select(e => e.File).Where(f => !ReferenceEquals(f, _layout.Main)));
        return new ImageInfo
        {
            Filename = _displayName ?? _path,
            Format = VmdkFormat.Instance.Name,
            VirtualSize = Length,
            ActualSize = files.Sum(f => f.AllocatedSize),
            ClusterSize = uniform && !_extents[0].Flat ? (int)Math.Min(int.MaxValue, _extents[0].ClusterBytes) : null,
            DirtyFlag = uniform ? false : null,
            BackingFilename = ParentHint,
            // Over a quorum node there is no directory to resolve a relative parent name in.
            FullBackingFilename = ParentHint is null || (_layout.Main.QuorumName is not null && !Path.IsPathRooted(ParentHint)) ? null : BackingChain.TryResolveForNode(_path, ParentHint),
            BackingFilenameFormat = ParentHint is null ? null : VmdkFormat.Instance.Name,
            FormatSpecific = new VmdkSpecificInfo
            {
                Cid = Cid,
                ParentCid = ParentCid,
                CreateType = CreateType,
                Extents = [.. _extents.Select(e => new VmdkExtentInfo(
                    e.Compressed ? true : null, e.Bytes, e.File.QuorumName ?? e.File.Name, e.Flat ? null : e.ClusterBytes, e.TypeName))],
            },
        };
    }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        CheckRange(offset, buffer.Length);
        var index = 0;
        while (!buffer.IsEmpty)
        {
            index = FindExtent(offset, index);
            var extent = _extents[index];
            var inExtent = offset - extent.Start;
            var grain = extent.Lookup(inExtent);
            var n = (int)Math.Min(buffer.Length, grain.Length);
            var part = buffer[..n];
            switch (grain.State)
            {
                case VmdkGrainState.Data:
                    extent.ReadData(grain, extent.Flat ? 0 : inExtent % extent.ClusterBytes, part);
                    break;
                case VmdkGrainState.Unallocated when _backing is not null:
                    ReadBacking(offset, part);
                    break;
                default:
                    part.Clear();
                    break;
            }

            offset += n;
            buffer = buffer[n..];
        }
    }

    private void ReadBacking(long offset, Span<byte> buffer)
    {
        CheckParent();
        var backing = _backing!;
        var inside = offset >= backing.Length ? 0 : (int)Math.Min(buffer.Length, backing.Length - offset);
        if (inside > 0)
        {
            backing.Read(offset, buffer[..inside]);
        }

        buffer[inside..].Clear();
    }

    /// <summary>QEMU's CID check: the parent must be a VMDK whose CID is the one this image was made against.</summary>
    private void CheckParent()
    {
        if (_parentChecked)
        {
            return;
        }

        if (_backing is not VmdkImage parent || parent.Cid != ParentCid)
        {
            throw new InvalidImageException(
                $"Parent CID of '{_path}' ({ParentCid:x8}) does not match the CID of its parent '{_backing?.FilePath}'");
        }

        _parentChecked = true;
    }

    /// <inheritdoc/>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        CheckRange(offset, length);
        var result = new List<Extent>();
        var end = offset + length;
        var index = 0;
        while (offset < end)
        {
            index = FindExtent(offset, index);
            var extent = _extents[index];
            var grain = extent.Lookup(offset - extent.Start);
            var n = Math.Min(end - offset, grain.Length);
            var kind = grain.State switch
            {
                VmdkGrainState.Data => ExtentKind.Data,
                VmdkGrainState.Zero => ExtentKind.Zero,
                _ => ExtentKind.Unallocated,
            };
            if (result.Count > 0 && result[^1].Kind == kind)
            {
                result[^1] = result[^1] with { Length = result[^1].Length + n };
            }
            else
            {
                result.Add(new Extent(offset, n, kind));
            }

            offset += n;
        }

        return result;
    }

    /// <summary>
    /// The run at <paramref name="offset"/> for map: its state, length, and for plain (uncompressed) data the
    /// extent file and offset, with holes of flat files reported as zero (QEMU asks the file too).
    /// </summary>
    internal (VmdkGrainState State, long Length, long? HostOffset, string? FileName, bool Zero) MapStatus(long offset, long length)
    {
        var extent = _extents[FindExtent(offset, 0)];
        var grain = extent.Lookup(offset - extent.Start);
        var n = Math.Min(length, grain.Length);
        if (grain.State != VmdkGrainState.Data || extent.Compressed)
        {
            return (grain.State, n, null, null, grain.State == VmdkGrainState.Zero);
        }

        var host = extent.Flat ? grain.HostOffset : grain.HostOffset + (offset - extent.Start) % extent.ClusterBytes;
        var zero = false;
        if (extent.Flat)
        {
            var first = extent.File.GetExtents(host, n)[0];
            n = first.Length;
            zero = first.Kind != ExtentKind.Data;
        }

        return (grain.State, n, host, extent.File.Name, zero);
    }

    private int FindExtent(long offset, int hint)
    {
        if (hint < _extents.Count && offset >= _starts[hint] && offset < _starts[hint] + _extents[hint].Bytes)
        {
            return hint;
        }

        var index = Array.BinarySearch(_starts, offset);
        return index >= 0 ? index : ~index - 1;
    }

    /// <inheritdoc/>
    public void Flush()
    {
        if (!_writable)
        {
            return;
        }

        lock (_writeLock)
        {
            FlushLocked();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            if (_writable)
            {
                lock (_writeLock)
                {
                    FinishLocked();
                }
            }
        }
        finally
        {
            DisposeExtents(_layout);
            _backing?.Dispose();
        }
    }

    private static void DisposeExtents(VmdkLayout layout)
    {
        foreach (var extent in layout.Extents)
        {
            if (!ReferenceEquals(extent.File, layout.Main))
            {
                extent.Dispose();
            }
        }

        layout.Main.Dispose();
    }

    private void CheckRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range {offset}+{length} lies outside the {Length}-byte image.");
        }
    }
}
