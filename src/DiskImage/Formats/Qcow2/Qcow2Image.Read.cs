using System.Buffers;
using DiskImage.IO;
using DiskImage.IO.Blkdebug;

namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image
{
    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        CheckDriverPresent();
        CheckRange(offset, buffer.Length);
        CheckDataAccess();
        try
        {
            ReadCore(offset, buffer);
        }
        catch (Qcow2L2EntryException e)
        {
            SignalEntryCorruption(e.ReadEvent);
            throw;
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        CheckDriverPresent();
        CheckRange(offset, length);
        var result = new List<Extent>();
        var position = offset;
        var end = offset + length;
        while (position < end)
        {
            Qcow2Run run;
            try
            {
                lock (_lock)
                {
                    run = LookupLocked(position, end - position);
                }
            }
            catch (Qcow2L2EntryException e)
            {
                // Block status over an unusable entry: QEMU's corruption event, then EIO (as GetBlockStatus).
                SignalEntryCorruption(e.ReadEvent);
                throw new IOException("Input/output error", ErrnoException.EIO);
            }

            var kind = run.Kind switch
            {
                Qcow2ClusterKind.Data or Qcow2ClusterKind.Compressed => ExtentKind.Data,
                Qcow2ClusterKind.Zero => ExtentKind.Zero,
                _ => ExtentKind.Unallocated,
            };
            HostFile.Add(result, new Extent(position, run.Length, kind));
            position += run.Length;
        }

        return result;
    }

    /// <summary>Reads guest bytes through this layer and the backing chain. Safe with or without the lock held.</summary>
    private void ReadCore(long offset, Span<byte> buffer)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var position = offset + done;
            Qcow2Run run;
            lock (_lock)
            {
                run = LookupLocked(position, buffer.Length - done);
            }

            var target = buffer.Slice(done, (int)run.Length);
            switch (run.Kind)
            {
                case Qcow2ClusterKind.Data:
                    ReadHostData(position, run.HostOffset, target);
                    break;
                case Qcow2ClusterKind.Zero:
                    target.Clear();
                    break;
                case Qcow2ClusterKind.Unallocated:
                    ReadBacking(position, target);
                    break;
                case Qcow2ClusterKind.Compressed:
                    ReadCompressed(run.Entry, (int)(position & (_clusterSize - 1)), target);
                    break;
            }

            done += target.Length;
        }
    }

    private void ReadHostData(long guestOffset, long hostOffset, Span<byte> target)
    {
        BlkdebugStorage.Raise(_file, BlkdebugEvent.ReadAio);
        if (Cipher is not null)
        {
            ReadEncrypted(guestOffset, hostOffset, target);
            return;
        }

        _data.Read(hostOffset, target);
    }

    private void ReadBacking(long guestOffset, Span<byte> target)
    {
        var backing = _backing;
        if (backing is null || guestOffset >= backing.Length)
        {
            target.Clear();
            return;
        }

        var available = (int)Math.Min(target.Length, backing.Length - guestOffset);
        BlkdebugStorage.Raise(_file, BlkdebugEvent.ReadBackingAio);
        backing.Read(guestOffset, target[..available]);
        target[available..].Clear();
    }

    private void ReadCompressed(ulong entry, int inCluster, Span<byte> target)
    {
        if (inCluster == 0 && target.Length == _clusterSize)
        {
            // A whole cluster inflates straight into the caller's buffer, sparing a copy of every byte.
            DecompressCluster(entry, target);
            return;
        }

        var cluster = ArrayPool<byte>.Shared.Rent(_clusterSize);
        try
        {
            DecompressCluster(entry, cluster.AsSpan(0, _clusterSize));
            cluster.AsSpan(inCluster, target.Length).CopyTo(target);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(cluster);
        }
    }

    private void DecompressCluster(ulong entry, Span<byte> cluster)
    {
        var (hostOffset, length) = CompressedSpan(entry);
        var compressed = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            BlkdebugStorage.Raise(_file, BlkdebugEvent.ReadCompressed);
            var read = _file.ReadAvailable(hostOffset, compressed.AsSpan(0, length));
            compressed.AsSpan(read, length - read).Clear();
            Qcow2Compression.Decompress(_header.CompressionType, compressed, length, cluster, hostOffset);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(compressed);
        }
    }
}
