using DiskImage.IO;
using DiskImage.IO.Blkdebug;

namespace DiskImage.Formats.Qed;

public sealed partial class QedImage : IHostMappedImage
{
    IStorage IHostMappedImage.Storage => _file;

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        CheckRange(offset, buffer.Length);
        while (!buffer.IsEmpty)
        {
            QedClusterKind kind;
            ulong cluster;
            long n;
            lock (_lock)
            {
                (kind, cluster, n) = FindLocked(offset, buffer.Length);
            }

            var part = buffer[..(int)n];
            switch (kind)
            {
                case QedClusterKind.Found:
                    BlkdebugStorage.Raise(_file, BlkdebugEvent.ReadAio);
                    _file.Read((long)cluster + (offset & (ClusterSize - 1)), part);
                    break;
                case QedClusterKind.Zero:
                    part.Clear();
                    break;
                default:
                    ReadBacking(offset, part);
                    break;
            }

            offset += n;
            buffer = buffer[(int)n..];
        }
    }

    /// <summary>The backing file's bytes, zeroes past its end or without one.</summary>
    private void ReadBacking(long offset, Span<byte> buffer)
    {
        if (_backing is not null)
        {
            BlkdebugStorage.Raise(_file, BlkdebugEvent.ReadBackingAio);
        }

        HostMappedIo.ReadBacking(_backing, offset, buffer);
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        lock (_lock)
        {
            while (!data.IsEmpty)
            {
                var (kind, cluster, n) = FindLocked(offset, data.Length);
                if (kind == QedClusterKind.Found)
                {
                    BlkdebugStorage.Raise(_file, BlkdebugEvent.WriteAio);
                    _file.Write((long)cluster + (offset & (ClusterSize - 1)), data[..(int)n]);
                }
                else
                {
                    AllocateLocked(offset, data[..(int)n], n, kind);
                }

                offset += n;
                data = data[(int)n..];
            }
        }
    }

    /// <summary>
    /// Makes the range read as zeroes. As QEMU: whole clusters become zero entries (data clusters get zero bytes in
    /// place); the unaligned head and tail are ordinary writes of zeroes.
    /// </summary>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);
        var alignedStart = (offset + ClusterSize - 1) & ~(long)(ClusterSize - 1);
        var alignedEnd = (offset + length) & ~(long)(ClusterSize - 1);
        if (alignedStart >= alignedEnd)
        {
            WriteZeroBytes(offset, length);
            return;
        }

        WriteZeroBytes(offset, alignedStart - offset);
        lock (_lock)
        {
            for (var pos = alignedStart; pos < alignedEnd;)
            {
                var (kind, cluster, n) = FindLocked(pos, alignedEnd - pos);
                switch (kind)
                {
                    case QedClusterKind.Found:
                        BlkdebugStorage.Raise(_file, BlkdebugEvent.WriteAio);
                        _file.WriteZeroBytes((long)cluster, n);
                        break;
                    case QedClusterKind.Zero:
                        break;
                    default:
                        SetNeedCheckLocked();
                        LinkLocked(pos, n, 1, kind);
                        break;
                }

                pos += n;
            }
        }

        WriteZeroBytes(alignedEnd, offset + length - alignedEnd);
    }

    private void WriteZeroBytes(long offset, long length)
    {
        if (length > 0)
        {
            Write(offset, new byte[length]);
        }
    }

    /// <summary>QED has no discard: QEMU ignores it and the data stays (a discard is only a hint).</summary>
    public void Discard(long offset, long length) => HostMappedIo.IgnoredDiscard(_file, Length, offset, length);

    /// <inheritdoc/>
    public void Flush() => HostMappedIo.Flush(_file);

    /// <inheritdoc/>
    public IReadOnlyList<Extent> GetExtents(long offset, long length) => HostMappedIo.GetExtents(this, Length, offset, length);

    /// <summary>QEMU's block status: data with its offset, zero clusters as zero, the rest unallocated.</summary>
    HostMapping IHostMappedImage.MapRun(long offset, long length)
    {
        lock (_lock)
        {
            var (kind, cluster, n) = FindLocked(offset, length);
            return kind switch
            {
                QedClusterKind.Found => new HostMapping(n, ExtentKind.Data, (long)cluster + (offset & (ClusterSize - 1))),
                QedClusterKind.Zero => new HostMapping(n, ExtentKind.Zero, null),
                _ => new HostMapping(n, ExtentKind.Unallocated, null),
            };
        }
    }

    /// <summary>
    /// A write to clusters that are not allocated (or zero clusters): new clusters are appended to the file, the
    /// need-check bit is set first when there is no backing file, the parts of the clusters around the data are
    /// filled (from the backing file where the clusters were unallocated), and with a backing file the data is
    /// flushed before the tables point at it, so a crash never exposes a cluster missing its backing data. Tables
    /// are updated last: a crash before that only leaks the new clusters.
    /// </summary>
    private void AllocateLocked(long pos, ReadOnlySpan<byte> data, long length, QedClusterKind kind)
    {
        var into = pos & (ClusterSize - 1);
        var clusters = (into + length + ClusterSize - 1) >> _clusterBits;
        var cluster = (long)_fileSize;
        _fileSize += (ulong)(clusters << _clusterBits);
        SetNeedCheckLocked();

        var start = pos - into;
        var tail = (clusters << _clusterBits) - into - length;
        FillLocked(start, into, cluster, kind);
        BlkdebugStorage.Raise(_file, BlkdebugEvent.WriteAio);
        _file.Write(cluster + into, data);
        FillLocked(pos + length, tail, cluster + into + length, kind);
        if (_backing is not null)
        {
            _file.Flush();
        }

        LinkLocked(pos, length, (ulong)cluster, kind);
    }

    /// <summary>The untouched part of a new cluster: the backing file's bytes for unallocated clusters, else zeroes.</summary>
    private void FillLocked(long guest, long length, long host, QedClusterKind kind)
    {
        if (length == 0)
        {
            return;
        }

        var buffer = new byte[length];
        if (kind != QedClusterKind.Zero)
        {
            ReadBacking(guest, buffer);
        }

        BlkdebugStorage.Raise(_file, BlkdebugEvent.CowWrite);
        _file.Write(host, buffer);
    }

    /// <summary>
    /// Points the L2 entries of the clusters of [pos, pos + length) at <paramref name="cluster"/> (consecutive clusters
    /// from there, or the zero marker 1). A missing L2 table is written whole and flushed before the L1 entry names it.
    /// </summary>
    private void LinkLocked(long pos, long length, ulong cluster, QedClusterKind kind)
    {
        var index = (int)(((ulong)pos >> _clusterBits) & (ulong)(_header.TableEntries - 1));
        var count = (int)(((pos & (ClusterSize - 1)) + length + ClusterSize - 1) >> _clusterBits);
        var l1Index = (int)((ulong)pos >> L1Shift);
        ulong[] table;
        ulong tableOffset;
        if (kind == QedClusterKind.L1Missing)
        {
            table = new ulong[_header.TableEntries];
            tableOffset = _fileSize;
            _fileSize += (ulong)_header.TableBytes;
        }
        else
        {
            tableOffset = _l1[l1Index];
            table = L2TableLocked(tableOffset);
        }

        for (var i = 0; i < count; i++)
        {
            table[index + i] = cluster <= 1 ? cluster : cluster + ((ulong)i << _clusterBits);
        }

        if (kind == QedClusterKind.L1Missing)
        {
            WriteTableLocked(tableOffset, table, 0, table.Length);
            _file.Flush();
            _l1[l1Index] = tableOffset;
            WriteTableLocked(_header.L1TableOffset, _l1, l1Index, 1);
            CacheLocked(tableOffset, table);
        }
        else
        {
            WriteTableLocked(tableOffset, table, index, count);
        }
    }

    /// <summary>QEMU sets need-check before allocating only without a backing file (with one, the flush orders writes).</summary>
    private void SetNeedCheckLocked()
    {
        if (_backing is null && !_header.NeedsCheck)
        {
            _header = _header with { Features = _header.Features | QedHeader.FeatureNeedCheck };
            WriteHeaderLocked();
        }
    }
}
