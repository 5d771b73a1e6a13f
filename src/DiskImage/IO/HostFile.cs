using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace DiskImage.IO;

/// <summary>
/// A host file accessed by offset through <see cref="RandomAccess"/>: the storage under every image
/// format. Thread-safe. Sparse-file calls (holes, punch, zero range) use Linux syscalls and fall back
/// to portable equivalents elsewhere.
/// </summary>
public sealed class HostFile : IStorage
{
    private const int HugeFolio = 2 << 20;
    private const int WriteStep = 1 << 20;

    /// <summary>Writes at least this long reserve their blocks first when <see cref="ReserveBeforeWrites"/> is on.</summary>
    private const int ReserveMinimum = 64 << 10;

    private readonly SafeFileHandle _handle;
    /// <summary>Cleared once the kernel refuses <c>copy_file_range</c> into this file as unsupported.</summary>
    private bool _copyFileRangeWorks = LinuxFileCalls.IsAvailable;

    private bool _holeCallsWork = LinuxFileCalls.IsAvailable;
    private bool _punchWorks = LinuxFileCalls.IsAvailable;
    private bool _zeroRangeWorks = LinuxFileCalls.IsAvailable;
    private bool _reserveBeforeWrites;

    /// <summary>
    /// 1 while something written through this handle may not be on stable storage. Starts at 1, so the first
    /// flush also covers whatever reached the file before it was opened. As QEMU's block layer does, a flush
    /// with nothing written since the last one is skipped (bitmap and refcount steps flush often).
    /// </summary>
    private int _unflushed = 1;

    private HostFile(SafeFileHandle handle, string path, bool writable)
    {
        _handle = handle;
        Path = path;
        CanWrite = writable;
    }

    /// <summary>QEMU's image lock on this file, or null when the file is not locked.</summary>
    public ImageLock? Lock { get; private set; }

    /// <summary>The path the file was opened with.</summary>
    public string Path { get; }

    /// <summary>Whether the file was opened for writing.</summary>
    public bool CanWrite { get; }

    /// <summary>The underlying handle, for calls this class does not wrap.</summary>
    public SafeFileHandle Handle => _handle;

    /// <summary>Current file length; for a block device, its size.</summary>
    public long Length
    {
        get
        {
            var length = RandomAccess.GetLength(_handle);
            if (length == 0 && LinuxFileCalls.IsAvailable)
            {
                // A block device has no size in stat; the end offset lseek reports is its size, as QEMU reads it.
                var end = LinuxFileCalls.LSeek(_handle.DangerousGetHandle(), 0, LinuxFileCalls.SeekEnd);
                if (end > 0)
                {
                    return end;
                }
            }

            return length;
        }
    }

    /// <summary>
    /// Opens an existing file; errors become <see cref="ImageAccessException"/> in qemu-img's words. With
    /// <paramref name="lockRequest"/> the file is locked as QEMU locks it (<see cref="ImageLock"/>) before
    /// anything is read, and a conflict with another process throws <see cref="ImageLockedException"/>.
    /// </summary>
    public static HostFile Open(string path, bool writable, LockRequest? lockRequest = null)
    {
        var file = Open(path, writable);
        if (lockRequest is { } request)
        {
            file.TakeLock(request);
        }

        return file;
    }

    /// <summary>Opens an existing file without locking it (format probing, files that are not images).</summary>
    public static HostFile Open(string path, bool writable)
    {
        try
        {
            if (Directory.Exists(path))
            {
                // qemu's file driver refuses anything but a regular file (or device) in these words; opening a
                // directory for writing fails before that, in open(2) itself.
                throw new ImageAccessException(writable ? $"Could not open '{path}': Is a directory" : $"'file' driver requires '{path}' to be a regular file");
            }

            var handle = File.OpenHandle(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read, writable ? FileShare.Read : FileShare.ReadWrite);
            return new HostFile(handle, path, writable);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageAccessException($"Could not open '{path}': {Describe(e)}", e);
        }
    }

    /// <summary>Creates (or truncates) a file for writing, locked as <see cref="Create(string, ImageLocking)"/> says.</summary>
    public static HostFile Create(string path) => Create(path, ImageLocking.Auto);

    /// <summary>
    /// Creates (or truncates) a file for writing. As QEMU's file driver does, an existing file is locked for
    /// write and resize (resize refused to others) before it is truncated, so a file in use by another
    /// process is refused with <see cref="ImageLockedException"/> and left as it was.
    /// </summary>
    public static HostFile Create(string path, ImageLocking locking)
    {
        if (Nfs.NfsUrl.IsNfs(path))
        {
            throw new UnsupportedFeatureException("Creating this file over NFS is not supported");
        }

        if (Options.SshNode.IsSshUri(path))
        {
            // Every creator writes an ssh:// name through the ssh driver; this one must not make a local "ssh:" file.
            throw new UnsupportedFeatureException("Creating this file over SSH is not supported");
        }

        HostFile file;
        try
        {
            var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
            file = new HostFile(handle, path, writable: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageAccessException($"Could not create '{path}': {ErrnoText.Describe(e, path)}", e);
        }

        try
        {
            file.TakeLock(new LockRequest(LockPermissions.Write | LockPermissions.Resize, LockPermissions.All & ~LockPermissions.Resize, locking, path));
            if (RandomAccess.GetLength(file.Handle) != 0)
            {
                // stat's length: a block device reports 0 and is never truncated.
                file.SetLength(0);
            }

            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private void TakeLock(LockRequest request)
    {
        try
        {
            Lock = ImageLock.Acquire(_handle, request);
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads exactly <c>buffer.Length</c> bytes; bytes past the end of the file read as zeroes.</summary>
    public void Read(long offset, Span<byte> buffer)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = RandomAccess.Read(_handle, buffer[done..], offset + done);
            if (n == 0)
            {
                buffer[done..].Clear();
                return;
            }

            done += n;
        }
    }

    /// <summary>Reads up to <c>buffer.Length</c> bytes, stopping at end of file; returns the count read.</summary>
    public int ReadAvailable(long offset, Span<byte> buffer)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = RandomAccess.Read(_handle, buffer[done..], offset + done);
            if (n == 0)
            {
                break;
            }

            done += n;
        }

        return done;
    }

    /// <summary>Writes all of <paramref name="data"/> at <paramref name="offset"/>, growing the file if needed.</summary>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        try
        {
            if (data.Length >= ReserveMinimum && Volatile.Read(ref _reserveBeforeWrites))
            {
                Reserve(offset, data.Length);
            }

            if (CoversHugeFolio(offset, data.Length))
            {
                WriteInSteps(offset, data);
            }
            else
            {
                RandomAccess.Write(_handle, data, offset);
            }

            NoteWritten();
        }
        catch (ArgumentOutOfRangeException e) when (offset >= 0)
        {
            // The runtime's word for EFBIG on a write that would grow the file past what it may hold.
            throw new FileTooLargeException("File too large", e);
        }
    }

    /// <summary>
    /// Whether large writes first reserve their blocks (<c>fallocate</c>, the length kept). Meant for a new output file,
    /// whose writes land past its end or in its holes: ext4 then maps the range's blocks in one call, where the page cache
    /// would otherwise reserve them block by block as it fills (delayed allocation), which measured about a fifth of the
    /// CPU of such a write (docs/BENCHMARKS.md, "blocks reserved before each write"). Only what is then written is
    /// reserved, so the file ends up with the same blocks. Turned on only on ext4, where it was measured; elsewhere,
    /// and for a file that is not new, setting it has no effect.
    /// </summary>
    internal bool ReserveBeforeWrites
    {
        get => Volatile.Read(ref _reserveBeforeWrites);
        set => Volatile.Write(ref _reserveBeforeWrites, value && LinuxFileCalls.FileSystemType(_handle.DangerousGetHandle()) == LinuxFileCalls.Ext4Magic);
    }

    /// <summary>
    /// Reserves the blocks of a range about to be written. Failure is left to the write: out of space or too large, it
    /// fails with the same error; a file system that cannot reserve turns reserving off for this file.
    /// </summary>
    private void Reserve(long offset, int length)
    {
        if (LinuxFileCalls.FAllocate(_handle.DangerousGetHandle(), LinuxFileCalls.FallocKeepSize, offset, length) != 0
            && Marshal.GetLastPInvokeError() is LinuxFileCalls.EOpNotSupp or LinuxFileCalls.ENoSys)
        {
            Volatile.Write(ref _reserveBeforeWrites, false);
        }
    }

    /// <summary>
    /// Whether a write covers a whole naturally aligned 2 MiB range of the file. The Linux page cache (ext4 with large
    /// folios) then takes a 2 MiB folio for it, and on this project's benchmark VM copying into a fresh folio of that
    /// size cost about three times the CPU of the same bytes in smaller folios (docs/BENCHMARKS.md, "2 MiB writes").
    /// </summary>
    internal static bool CoversHugeFolio(long offset, int length)
    {
        var firstAligned = (offset + HugeFolio - 1) & ~(long)(HugeFolio - 1);
        return length >= HugeFolio && firstAligned + HugeFolio <= offset + length;
    }

    /// <summary>Writes in pieces that end on 1 MiB boundaries of the file, so none covers a whole 2 MiB folio.</summary>
    private void WriteInSteps(long offset, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var step = (int)Math.Min(data.Length, WriteStep - (offset & (WriteStep - 1)));
            RandomAccess.Write(_handle, data[..step], offset);
            offset += step;
            data = data[step..];
        }
    }

    /// <summary>
    /// Copies up to <paramref name="length"/> bytes from <paramref name="source"/> at <paramref name="sourceOffset"/> to
    /// <paramref name="offset"/> in this file inside the kernel (<c>copy_file_range</c>: page cache to page cache, one
    /// copy where a read and a write make two). Returns the bytes copied, which is less than asked when the source ends
    /// early (it was shortened meanwhile) or the kernel refuses the call (another file system, no support, an error);
    /// the caller writes the rest itself, so a real write error (no space, too large) surfaces from that write.
    /// </summary>
    internal long CopyFrom(HostFile source, long sourceOffset, long offset, long length)
    {
        if (!Volatile.Read(ref _copyFileRangeWorks))
        {
            return 0;
        }

        var done = 0L;
        var from = sourceOffset;
        var to = offset;
        while (done < length)
        {
            var copied = (long)LinuxFileCalls.CopyFileRange(source._handle.DangerousGetHandle(), ref from, _handle.DangerousGetHandle(), ref to, (nuint)Math.Min(length - done, 1L << 30), 0);
            if (copied <= 0)
            {
                // 0: end of the source. EXDEV, ENOSYS, EINVAL, EOPNOTSUPP: the kernel or file system cannot copy between
                // these files, and will not later either; other errors are left to the caller's own write to report.
                if (copied < 0 && Marshal.GetLastPInvokeError() is LinuxFileCalls.EXDev or LinuxFileCalls.ENoSys or LinuxFileCalls.EInval or LinuxFileCalls.EOpNotSupp)
                {
                    Volatile.Write(ref _copyFileRangeWorks, false);
                }

                break;
            }

            done += copied;
        }

        if (done > 0)
        {
            NoteWritten();
        }

        return done;
    }

    /// <summary>Sets the file length (truncating or extending with a hole).</summary>
    public void SetLength(long length)
    {
        try
        {
            RandomAccess.SetLength(_handle, length);
            NoteWritten();
        }
        catch (ArgumentException e) when (length >= 0)
        {
            // The runtime's word for EFBIG (an ArgumentException, or its out-of-range kind on older runtimes): the
            // file system, or the process's file-size limit, cannot hold a file of that length.
            throw new FileTooLargeException("File too large", e);
        }
    }

    /// <summary>
    /// QEMU's <c>cache=unsafe</c>: flushes are not passed to the host, so nothing waits for the disk.
    /// Ordering between metadata writes is kept in the page cache; only durability is given up.
    /// </summary>
    public bool IgnoreFlushes { get; set; }

    /// <summary>Flushes file data and metadata to stable storage (unless <see cref="IgnoreFlushes"/>).</summary>
    public void Flush()
    {
        // Cleared before the sync: a write finishing meanwhile sets it again and the next flush covers it.
        if (IgnoreFlushes || Interlocked.Exchange(ref _unflushed, 0) == 0)
        {
            return;
        }

        try
        {
            RandomAccess.FlushToDisk(_handle);
        }
        catch
        {
            Volatile.Write(ref _unflushed, 1);
            throw;
        }
    }

    /// <summary>
    /// Records that the file changed, so the next <see cref="Flush"/> syncs it. Called after every change made
    /// through this class; callers that change the file through <see cref="Handle"/> call it themselves, afterwards.
    /// </summary>
    public void NoteWritten() => Volatile.Write(ref _unflushed, 1);

    /// <summary>Bytes the file occupies on disk (<c>st_blocks</c>), or its length where that cannot be had.</summary>
    public long AllocatedSize => LinuxFileCalls.AllocatedBytes(_handle.DangerousGetHandle()) ?? Length;

    long? IStorage.AllocatedSize => AllocatedSize;

    /// <summary>
    /// Reserves space for the range without writing it (<c>fallocate</c>), extending the file when the
    /// range passes its end. Returns false where the file system cannot do it.
    /// </summary>
    public bool TryAllocate(long offset, long length)
    {
        if (!LinuxFileCalls.IsAvailable || length <= 0)
        {
            return false;
        }

        if (LinuxFileCalls.FAllocate(_handle.DangerousGetHandle(), 0, offset, length) == 0)
        {
            NoteWritten();
            return true;
        }

        // Only a file system that cannot reserve space falls back to writing zeroes; one that has no room for the
        // range, or cannot hold a file that long, would fail those writes too, after filling the disk.
        return Marshal.GetLastPInvokeError() switch
        {
            LinuxFileCalls.EFBig => throw new FileTooLargeException(),
            LinuxFileCalls.ENoSpc => throw new ImageAccessException("No space left on device"),
            _ => false,
        };
    }

    /// <summary>
    /// Makes the range read as zeroes: punches a hole when allowed and possible, else asks for a zero
    /// range, else writes zeroes. The file length is never changed.
    /// </summary>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        if (length <= 0)
        {
            return;
        }

        var end = Math.Min(offset + length, Length);
        if (offset >= end)
        {
            return;
        }

        length = end - offset;
        var fd = _handle.DangerousGetHandle();
        if (mayUnmap && _punchWorks)
        {
            if (LinuxFileCalls.FAllocate(fd, LinuxFileCalls.FallocPunchHole | LinuxFileCalls.FallocKeepSize, offset, length) == 0)
            {
                NoteWritten();
                return;
            }

            _punchWorks = false;
        }

        if (_zeroRangeWorks)
        {
            if (LinuxFileCalls.FAllocate(fd, LinuxFileCalls.FallocZeroRange | LinuxFileCalls.FallocKeepSize, offset, length) == 0)
            {
                NoteWritten();
                return;
            }

            _zeroRangeWorks = false;
        }

        WriteZeroBytes(offset, length);
    }

    /// <summary>Releases the range's space if the file system can; never changes what the range reads as beyond zeroing it.</summary>
    public void Discard(long offset, long length) => WriteZeroes(offset, length, mayUnmap: true);

    /// <summary>Writes literal zero bytes over the range (used for full preallocation and fallbacks).</summary>
    public void WriteZeroBytes(long offset, long length)
    {
        const int chunk = 1 << 20;
        var zeroes = new byte[(int)Math.Min(chunk, Math.Max(length, 1))];
        while (length > 0)
        {
            var n = (int)Math.Min(zeroes.Length, length);
            Write(offset, zeroes.AsSpan(0, n));
            offset += n;
            length -= n;
        }
    }

    /// <summary>
    /// Data and hole runs of the file within <c>[offset, offset + length)</c>, from <c>SEEK_DATA</c>/<c>SEEK_HOLE</c>.
    /// Holes are reported as <see cref="ExtentKind.Zero"/>; the part past end of file as zero too.
    /// Where the calls are missing, the whole range is reported as data.
    /// </summary>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        var result = new List<Extent>();
        if (length <= 0)
        {
            return result;
        }

        var end = offset + length;
        var fileLength = Length;
        var position = offset;
        var fd = _handle.DangerousGetHandle();
        while (position < end)
        {
            if (position >= fileLength)
            {
                Add(result, new Extent(position, end - position, ExtentKind.Zero));
                break;
            }

            if (!_holeCallsWork)
            {
                Add(result, new Extent(position, Math.Min(end, fileLength) - position, ExtentKind.Data));
                position = Math.Min(end, fileLength);
                continue;
            }

            var data = LinuxFileCalls.LSeek(fd, position, LinuxFileCalls.SeekData);
            if (data < 0)
            {
                if (Marshal.GetLastPInvokeError() == LinuxFileCalls.ENXIO)
                {
                    // No data at or after position: the rest of the file is a hole.
                    data = fileLength;
                }
                else
                {
                    _holeCallsWork = false;
                    continue;
                }
            }

            if (data > position)
            {
                var holeEnd = Math.Min(data, end);
                Add(result, new Extent(position, holeEnd - position, ExtentKind.Zero));
                position = holeEnd;
                continue;
            }

            var hole = LinuxFileCalls.LSeek(fd, position, LinuxFileCalls.SeekHole);
            if (hole < 0)
            {
                _holeCallsWork = false;
                continue;
            }

            var dataEnd = Math.Min(Math.Max(hole, position + 1), end);
            Add(result, new Extent(position, dataEnd - position, ExtentKind.Data));
            position = dataEnd;
        }

        return result;
    }

    /// <summary>Appends an extent, merging it with the previous one when they are of one kind.</summary>
    internal static void Add(List<Extent> extents, Extent extent)
    {
        if (extent.Length <= 0)
        {
            return;
        }

        if (extents.Count > 0)
        {
            var last = extents[^1];
            if (last.Kind == extent.Kind && last.End == extent.Offset)
            {
                extents[^1] = last with { Length = last.Length + extent.Length };
                return;
            }
        }

        extents.Add(extent);
    }

    /// <inheritdoc/>
    public void Dispose() => _handle.Dispose();

    private static string Describe(Exception e) => ErrnoText.Describe(e);
}
