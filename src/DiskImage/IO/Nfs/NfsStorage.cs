namespace DiskImage.IO.Nfs;

/// <summary>
/// A file on an NFS v3 server: QEMU's <c>nfs</c> protocol driver, with our own ONC RPC client in place of libnfs.
/// Opened as QEMU opens it (mount the path's directory, open its last component, fstat for the size, rounded up to
/// whole 512-byte sectors as QEMU's driver reports it); reads and writes in the server's transfer sizes, writes
/// unstable and made durable by COMMIT on flush (and on close), the size set with SETATTR. A failed read or write
/// prints libnfs's line (<c>NFS Error: ...</c>) and fails with EFAULT, as there.
/// </summary>
internal sealed class NfsStorage : IStorage
{
    private const int Efault = 14;

    private readonly NfsSession _session;
    private readonly Lock _lock = new();
    private readonly long _allocatedAtOpen;
    private long _fileSize;
    private bool _unflushed;

    private NfsStorage(NfsSession session, NfsTarget target, bool writable)
    {
        _session = session;
        Path = target.NodeName;
        CanWrite = writable;
        var attributes = session.Stat();
        _fileSize = (long)Math.Min(attributes.Size, long.MaxValue / 2);
        _allocatedAtOpen = Blocks(attributes);
    }

    /// <summary>Opens the file an <c>nfs://</c> name names.</summary>
    public static IStorage Open(string url, bool writable) => Open(NfsNode.FromUrl(url), writable);

    /// <summary>Opens <paramref name="target"/>'s file for reading, or for reading and writing.</summary>
    public static IStorage Open(NfsTarget target, bool writable) => Connect(target, writable, create: false);

    /// <summary>Creates the file (an existing one is kept, as libnfs's creat keeps it) and sets its size, as QEMU's driver creates.</summary>
    public static IStorage Create(NfsTarget target, long size)
    {
        var storage = Connect(target, writable: true, create: true);
        try
        {
            storage.SetLength(size);
            return storage;
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    private static NfsStorage Connect(NfsTarget target, bool writable, bool create)
    {
        if (!target.Path.Contains('/', StringComparison.Ordinal))
        {
            throw new ImageAccessException("Invalid URL specified");
        }

        NfsNode.WarnAboutCaps(target);
        var session = NfsSession.Open(target, writable, create);
        try
        {
            return new NfsStorage(session, target, writable);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public string Path { get; }

    /// <inheritdoc/>
    public bool CanWrite { get; }

    /// <summary>The file's size rounded up to whole sectors, as QEMU's driver gives it.</summary>
    public long Length
    {
        get
        {
            lock (_lock)
            {
                return (_fileSize + 511) & ~511L;
            }
        }
    }

    /// <summary>The bytes the server says the file takes (st_blocks × 512): as at open when read-only, asked again when writable, as QEMU does.</summary>
    public long? AllocatedSize
    {
        get
        {
            if (!CanWrite)
            {
                return _allocatedAtOpen;
            }

            lock (_lock)
            {
                return Blocks(Io(() => _session.Client.GetAttributes(_session.File)));
            }
        }
    }

    /// <inheritdoc/>
    public bool IgnoreFlushes { get; set; }

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        var available = ReadAvailable(offset, buffer);
        buffer[available..].Clear();
    }

    /// <inheritdoc/>
    public int ReadAvailable(long offset, Span<byte> buffer)
    {
        lock (_lock)
        {
            var count = (int)Math.Clamp(Length - offset, 0, buffer.Length);
            var done = 0;
            while (done < count)
            {
                var chunk = buffer.Slice(done, Math.Min(count - done, _session.ReadMax));
                var (n, eof) = IoRead(offset + done, chunk);
                done += n;
                if (eof || n == 0)
                {
                    // Past the file's end (within its last sector): zeroes, as QEMU pads a short read.
                    buffer[done..count].Clear();
                    done = count;
                }
            }

            return done;
        }
    }

    private (int Count, bool Eof) IoRead(long offset, Span<byte> chunk)
    {
        try
        {
            return _session.Client.Read(_session.File, offset, chunk);
        }
        catch (NfsProtocolException e)
        {
            throw Failed(e);
        }
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (!CanWrite)
        {
            throw new ImageAccessException("Permission denied");
        }

        lock (_lock)
        {
            var done = 0;
            while (done < data.Length)
            {
                var chunk = data.Slice(done, Math.Min(data.Length - done, _session.WriteMax));
                try
                {
                    done += _session.Client.Write(_session.File, offset + done, chunk);
                }
                catch (NfsProtocolException e)
                {
                    throw Failed(e);
                }
            }

            _unflushed = true;
            _fileSize = Math.Max(_fileSize, offset + data.Length);
        }
    }

    /// <summary>Sets the file's size (growing or shrinking), as QEMU's driver truncates.</summary>
    public void SetLength(long length)
    {
        lock (_lock)
        {
            try
            {
                _session.Client.SetSize(_session.File, length);
            }
            catch (NfsProtocolException e)
            {
                throw new ImageAccessException($"Failed to truncate file: {ErrnoText.Strerror(-e.Errno)}", e);
            }

            _fileSize = length;
        }
    }

    /// <summary>COMMIT: every unstable write reaches the server's disk.</summary>
    public void Flush()
    {
        if (IgnoreFlushes)
        {
            return;
        }

        lock (_lock)
        {
            Commit();
        }
    }

    private void Commit()
    {
        try
        {
            _session.Client.Commit(_session.File);
            _unflushed = false;
        }
        catch (NfsProtocolException e)
        {
            throw Failed(e);
        }
    }

    /// <inheritdoc/>
    public bool TryAllocate(long offset, long length) => false;

    /// <summary>NFS v3 cannot zero a range: zero bytes are written, as QEMU's block layer writes them for this driver.</summary>
    public void WriteZeroes(long offset, long length, bool mayUnmap) => WriteZeroBytes(offset, length);

    /// <summary>NFS v3 cannot release space; a discarded range must read as zeroes, so zeroes are written within the file.</summary>
    public void Discard(long offset, long length)
    {
        var end = Math.Min(offset + length, Length);
        if (offset < end)
        {
            WriteZeroBytes(offset, end - offset);
        }
    }

    /// <inheritdoc/>
    public void WriteZeroBytes(long offset, long length) => ZeroBytesWriter.Write(this, offset, length);

    /// <summary>NFS v3 does not tell holes from data: the whole range is data, as QEMU's driver (no block status) reports it.</summary>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        var result = new List<Extent>();
        HostFile.Add(result, new Extent(offset, length, ExtentKind.Data));
        return result;
    }

    /// <summary>Commits what is unflushed (QEMU flushes a node before closing it), closes the connection and unmounts.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_unflushed && !IgnoreFlushes)
            {
                try
                {
                    Commit();
                }
                catch (IOException)
                {
                    // The failure was reported as it happened; closing goes on.
                }
            }

            _session.Dispose();
        }
    }

    private static long Blocks(NfsAttributes attributes) => (long)Math.Min((attributes.Used + 511) / 512, long.MaxValue / 1024) * 512;

    private static T Io<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (NfsProtocolException e)
        {
            throw Failed(e);
        }
    }

    /// <summary>libnfs's line for the failed request (printed as QEMU prints it), and EFAULT for the caller.</summary>
    private static IOException Failed(NfsProtocolException e)
    {
        ImageWarnings.Report($"NFS Error: {e.Message}");
        return new IOException(ErrnoText.Strerror(Efault), e) { HResult = Efault };
    }
}
