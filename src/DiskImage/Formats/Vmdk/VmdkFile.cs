using DiskImage.IO;

namespace DiskImage.Formats.Vmdk;

/// <summary>
/// One file a VMDK is made of (descriptor, sparse or flat extent), or a window into a larger file (a disk
/// inside an OVA). All access goes through <see cref="IStorage"/>. Reads past the end
/// return zeroes, as QEMU's file layer pads short reads.
/// </summary>
internal sealed class VmdkFile : IDisposable
{
    private readonly IStorage _file;
    private readonly long _base;
    private readonly long? _windowLength;
    private readonly bool _ownsFile;

    private VmdkFile(IStorage file, string name, long @base, long? windowLength, bool ownsFile)
    {
        _file = file;
        Name = name;
        _base = @base;
        _windowLength = windowLength;
        _ownsFile = ownsFile;
    }

    /// <summary>The file name as qemu-img reports it (the path the extent was opened with).</summary>
    public string Name { get; }

    public bool CanWrite => _windowLength is null && _file.CanWrite;

    public long Length => _windowLength ?? _file.Length;

    /// <summary>Bytes the file occupies on the host (the window's length for a window); null where the storage cannot say.</summary>
    public long? AllocatedSize => _windowLength ?? _file.AllocatedSize;

    /// <summary>The quorum node's json: name when this file is a quorum node (which has no directory); else null.</summary>
    public string? QuorumName => _file is IO.Quorum.QuorumStorage quorum ? quorum.Path : null;

    /// <summary>Whether this is a window into another file (an OVA member).</summary>
    public bool IsWindow => _windowLength is not null;

    public static VmdkFile Open(string path, bool writable, bool ignoreFlushes, LockRequest? lockRequest = null)
    {
        var file = Storage.Open(path, writable, lockRequest);
        file.IgnoreFlushes = ignoreFlushes;
        return new VmdkFile(file, path, 0, null, ownsFile: true);
    }

    /// <summary>A VMDK file held in an already open storage (a stacked format node), owned from now on.</summary>
    public static VmdkFile Over(IStorage file, string path, bool ignoreFlushes)
    {
        file.IgnoreFlushes = ignoreFlushes;
        return new VmdkFile(file, path, 0, null, ownsFile: true);
    }

    /// <summary>A read-only window of <paramref name="length"/> bytes at <paramref name="offset"/> of a file the caller keeps.</summary>
    public static VmdkFile Window(IStorage file, string name, long offset, long length) =>
        new(file, name, offset, length, ownsFile: false);

    /// <summary>Reads <c>buffer.Length</c> bytes; whatever lies past the end reads as zeroes.</summary>
    public void Read(long offset, Span<byte> buffer)
    {
        var wanted = buffer.Length;
        if (_windowLength is { } window)
        {
            wanted = offset >= window ? 0 : (int)Math.Min(wanted, window - offset);
        }

        var got = wanted > 0 && offset >= 0 ? _file.ReadAvailable(_base + offset, buffer[..wanted]) : 0;
        buffer[got..].Clear();
    }

    public void Write(long offset, ReadOnlySpan<byte> data) => _file.Write(_base + offset, data);

    /// <summary>Raises a blkdebug event on the file when a blkdebug node sits under the format.</summary>
    public void Raise(IO.Blkdebug.BlkdebugEvent value) => IO.Blkdebug.BlkdebugStorage.Raise(_file, value);

    public void SetLength(long length) => _file.SetLength(length);

    public void Flush() => _file.Flush();

    public IReadOnlyList<Extent> GetExtents(long offset, long length) =>
        IsWindow ? [new Extent(offset, length, ExtentKind.Data)] : _file.GetExtents(offset, length);

    public void Dispose()
    {
        if (_ownsFile)
        {
            _file.Dispose();
        }
    }
}
