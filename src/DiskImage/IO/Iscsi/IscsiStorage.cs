using System.Buffers.Binary;

namespace DiskImage.IO.Iscsi;

/// <summary>
/// A LUN on an iSCSI target: QEMU's <c>iscsi</c> protocol driver. Reads and writes go out as READ/WRITE(10), or (16)
/// past 2^32 blocks, in whole blocks (a partial block is read, changed and written back); flush is SYNCHRONIZE
/// CACHE(10), discard is UNMAP where the LUN supports it (nothing otherwise, as in QEMU), write-zeroes with unmap is
/// WRITE SAME(16) with UNMAP where the LUN reads unmapped blocks as zeroes, and block status asks GET LBA STATUS
/// where the LUN manages provisioning. The LUN's size is fixed.
/// </summary>
internal sealed class IscsiStorage : IStorage
{
    /// <summary>The most bytes one READ or WRITE moves, whatever the LUN allows, so buffers stay bounded.</summary>
    private const int MaxChunk = 1 << 20;

    private readonly IscsiSession _session;
    private readonly IscsiLunInfo _lun;
    private readonly Lock _lock = new();
    private readonly int _chunkBlocks;

    private IscsiStorage(IscsiSession session, IscsiLunInfo lun, IscsiTarget target, bool writable)
    {
        _session = session;
        _lun = lun;
        Target = target;
        CanWrite = writable;
        var limit = lun.BlockSize == 0 ? 1 : MaxChunk / lun.BlockSize;
        if (!lun.UseSixteen)
        {
            limit = Math.Min(limit, ushort.MaxValue);
        }

        if (lun.MaxTransferBlocks > 0)
        {
            limit = (int)Math.Min(limit, lun.MaxTransferBlocks);
        }

        _chunkBlocks = Math.Max(limit, 1);
    }

    /// <summary>Opens the LUN an iscsi:// name (or a node registered by <see cref="IscsiNode.NameOf"/>) names.</summary>
    public static IscsiStorage Open(string name, bool writable) => Open(IscsiNode.FromName(name), writable);

    /// <summary>Logs in and reads what QEMU's driver reads at open; failures are <see cref="ImageAccessException"/>s in its words.</summary>
    public static IscsiStorage Open(IscsiTarget target, bool writable)
    {
        IscsiSession session;
        try
        {
            session = IscsiSession.Connect(target);
        }
        catch (IscsiProtocolException e)
        {
            throw new ImageAccessException("iSCSI: Failed to connect to LUN : " + e.Message);
        }

        try
        {
            var lun = IscsiLunInfo.Query(session);
            if (writable && lun.WriteProtected && lun.DeviceType == IscsiLunInfo.TypeDisk)
            {
                throw new ImageAccessException("LUN is write protected");
            }

            return new IscsiStorage(session, lun, target, writable);
        }
        catch (IscsiProtocolException e)
        {
            session.Dispose();
            throw new ImageAccessException(e.Message);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public IscsiTarget Target { get; }

    /// <summary>QEMU names the node by its options: <c>json:{...}</c>.</summary>
    public string Path => Target.NodeName;

    public bool CanWrite { get; }

    public long Length => _lun.Length;

    /// <summary>A LUN does not say how much space it takes (qemu-img's "unavailable").</summary>
    public long? AllocatedSize => null;

    public bool IgnoreFlushes { get; set; }

    public void Read(long offset, Span<byte> buffer)
    {
        var available = ReadAvailable(offset, buffer);
        buffer[available..].Clear();
    }

    public int ReadAvailable(long offset, Span<byte> buffer)
    {
        var count = (int)Math.Clamp(Length - offset, 0, buffer.Length);
        if (count == 0)
        {
            return 0;
        }

        lock (_lock)
        {
            var size = _lun.BlockSize;
            var first = offset / size;
            var last = (offset + count - 1) / size;
            var done = 0;
            for (var lba = first; lba <= last; lba += _chunkBlocks)
            {
                var blocks = (int)Math.Min(_chunkBlocks, last - lba + 1);
                var data = ReadBlocks(lba, blocks);
                var start = lba == first ? (int)(offset - first * size) : 0;
                var n = Math.Min(data.Length - start, count - done);
                data.AsSpan(start, n).CopyTo(buffer[done..]);
                done += n;
            }

            return count;
        }
    }

    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (!CanWrite)
        {
            throw new ImageAccessException("Permission denied");
        }

        if (offset < 0 || data.Length > Length - offset)
        {
            // A LUN cannot grow.
            throw new ErrnoException(ErrnoException.EIO, "Input/output error");
        }

        if (data.IsEmpty)
        {
            return;
        }

        lock (_lock)
        {
            var size = _lun.BlockSize;
            var first = offset / size;
            var last = (offset + data.Length - 1) / size;
            var position = 0;
            for (var lba = first; lba <= last; lba += _chunkBlocks)
            {
                var blocks = (int)Math.Min(_chunkBlocks, last - lba + 1);
                var start = lba == first ? (int)(offset - first * size) : 0;
                var n = Math.Min(blocks * size - start, data.Length - position);
                byte[] chunk;
                if (start == 0 && n == blocks * size)
                {
                    chunk = data.Slice(position, n).ToArray();
                }
                else
                {
                    // A partial block at either end: read, change, write back.
                    chunk = ReadBlocks(lba, blocks);
                    data.Slice(position, n).CopyTo(chunk.AsSpan(start));
                }

                WriteBlocks(lba, chunk);
                position += n;
            }
        }
    }

    /// <summary>As QEMU's exact truncate: only the size the LUN has is taken.</summary>
    public void SetLength(long length)
    {
        if (length != Length)
        {
            throw new UnsupportedFeatureException("Cannot resize iSCSI devices");
        }
    }

    public void Flush()
    {
        if (IgnoreFlushes || !CanWrite)
        {
            return;
        }

        lock (_lock)
        {
            var result = Run(ScsiCdb.SynchronizeCache10(), 0, []);
            if (!result.IsGood)
            {
                throw Failed($"iSCSI SYNCHRONIZECACHE10 failed: {result.Error}");
            }
        }
    }

    public bool TryAllocate(long offset, long length) => false;

    /// <summary>WRITE SAME(16) with UNMAP over whole blocks where the LUN takes it and reads unmapped blocks as zeroes; zero bytes elsewhere.</summary>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        var end = Math.Min(offset + length, Length);
        if (offset >= end)
        {
            return;
        }

        var size = _lun.BlockSize;
        var firstWhole = (offset + size - 1) / size;
        var endWhole = end / size;
        if (!mayUnmap || !_lun.Lbpws || !_lun.Lbprz || firstWhole >= endWhole)
        {
            WriteZeroBytes(offset, end - offset);
            return;
        }

        WriteZeroBytes(offset, firstWhole * size - offset);
        var limit = _lun.MaxWriteSameBlocks is > 0 and < int.MaxValue ? (int)_lun.MaxWriteSameBlocks : 65536;
        lock (_lock)
        {
            for (var lba = firstWhole; lba < endWhole; lba += limit)
            {
                var blocks = (int)Math.Min(limit, endWhole - lba);
                var result = Run(ScsiCdb.WriteSame16(lba, blocks, unmap: true), 0, new byte[size]);
                if (!result.IsGood)
                {
                    throw Failed($"iSCSI WRITESAME10/16 failed at lba {lba}: {result.Error}");
                }
            }
        }

        WriteZeroBytes(endWhole * size, end - endWhole * size);
    }

    /// <summary>UNMAP over the whole blocks of the range where the LUN supports it; as QEMU's driver, nothing otherwise.</summary>
    public void Discard(long offset, long length)
    {
        if (!_lun.Lbpu || !CanWrite || _lun.BlockSize == 0)
        {
            return;
        }

        var size = _lun.BlockSize;
        var first = (offset + size - 1) / size;
        var end = Math.Min(offset + length, Length) / size;
        var limit = _lun.MaxUnmapBlocks is > 0 and < int.MaxValue ? (int)_lun.MaxUnmapBlocks : 65536;
        lock (_lock)
        {
            for (var lba = first; lba < end; lba += limit)
            {
                var blocks = (int)Math.Min(limit, end - lba);
                var parameters = ScsiCdb.UnmapParameters(lba, blocks);
                var result = Run(ScsiCdb.Unmap((ushort)parameters.Length), 0, parameters);
                if (!result.IsGood)
                {
                    throw Failed($"iSCSI UNMAP failed at lba {lba}: {result.Error}");
                }
            }
        }
    }

    public void WriteZeroBytes(long offset, long length) => ZeroBytesWriter.Write(this, offset, length, MaxChunk);

    /// <summary>
    /// All data where the LUN does not manage provisioning (as QEMU's driver reports it); otherwise GET LBA STATUS's
    /// descriptors, each checked to start where asked and to lie inside the LUN. Deallocated blocks read as zeroes
    /// only where the LUN says so (LBPRZ); otherwise they are reported as data.
    /// </summary>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        var result = new List<Extent>();
        var end = Math.Min(offset + length, Length);
        if (!_lun.Lbpme || !_lun.Lbprz || offset >= end)
        {
            HostFile.Add(result, new Extent(offset, Math.Max(end - offset, 0), ExtentKind.Data));
            return result;
        }

        var size = _lun.BlockSize;
        var position = offset;
        lock (_lock)
        {
            while (position < end)
            {
                var lba = position / size;
                var answer = Run(ScsiCdb.GetLbaStatus(lba, 8 + 16), 8 + 16, []);
                if (!answer.IsGood || answer.Data.Length < 24 || BinaryPrimitives.ReadUInt64BigEndian(answer.Data.AsSpan(8)) != (ulong)lba)
                {
                    // QEMU's driver reports the range as data when the target does not answer usefully.
                    HostFile.Add(result, new Extent(position, end - position, ExtentKind.Data));
                    break;
                }

                var blocks = BinaryPrimitives.ReadUInt32BigEndian(answer.Data.AsSpan(16));
                var status = answer.Data[20] & 0x0f;
                var runEnd = blocks == 0 ? end : Math.Min(end, (lba + blocks) * size);
                HostFile.Add(result, new Extent(position, runEnd - position, status == 0 ? ExtentKind.Data : ExtentKind.Zero));
                position = runEnd;
            }
        }

        return result;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _session.Dispose();
        }
    }

    private byte[] ReadBlocks(long lba, int blocks)
    {
        var bytes = blocks * _lun.BlockSize;
        var result = Run(ScsiCdb.Read(lba, blocks, _lun.UseSixteen), bytes, []);
        if (!result.IsGood)
        {
            throw Failed($"iSCSI READ10/16 failed at lba {lba}: {result.Error}");
        }

        if (result.Data.Length == bytes)
        {
            return result.Data;
        }

        // Fewer bytes than asked: the rest of the buffer stays zero, as a short transfer leaves it.
        var whole = new byte[bytes];
        result.Data.CopyTo(whole, 0);
        return whole;
    }

    private void WriteBlocks(long lba, byte[] data)
    {
        var result = Run(ScsiCdb.Write(lba, data.Length / _lun.BlockSize, _lun.UseSixteen), 0, data);
        if (!result.IsGood)
        {
            throw Failed($"iSCSI WRITE10/16 failed at lba {lba}: {result.Error}");
        }
    }

    /// <summary>Runs a command; a lost or broken session is an I/O error with its reason reported first.</summary>
    private ScsiResult Run(byte[] cdb, int dataIn, ReadOnlySpan<byte> dataOut)
    {
        try
        {
            return _session.Execute(cdb, dataIn, dataOut);
        }
        catch (IscsiProtocolException e)
        {
            throw Failed("iSCSI: " + e.Message);
        }
    }

    /// <summary>QEMU reports the failed command on stderr, and the request fails with EIO.</summary>
    private static ErrnoException Failed(string report)
    {
        ImageWarnings.Report(report);
        return new ErrnoException(ErrnoException.EIO, "Input/output error");
    }
}
