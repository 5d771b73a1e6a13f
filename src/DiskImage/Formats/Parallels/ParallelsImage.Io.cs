using DiskImage.IO;

namespace DiskImage.Formats.Parallels;

public sealed partial class ParallelsImage : IHostMappedImage
{
    private const int EIO = 5;

    IStorage IHostMappedImage.Storage => _file;

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        CheckRange(offset, buffer.Length);
        while (!buffer.IsEmpty)
        {
            long? host;
            long n;
            lock (_lock)
            {
                (host, n) = FindLocked(offset, buffer.Length);
            }

            var part = buffer[..(int)n];
            if (host is { } at)
            {
                // Past the end of the file the data reads as zeroes, as QEMU's file reads do.
                _file.Read(at, part);
            }
            else
            {
                ReadBacking(offset, part);
            }

            offset += n;
            buffer = buffer[(int)n..];
        }
    }

    /// <summary>The backing node's bytes, zeroes past its end or without one.</summary>
    private void ReadBacking(long offset, Span<byte> buffer) => HostMappedIo.ReadBacking(_backing, offset, buffer);

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        lock (_lock)
        {
            while (!data.IsEmpty)
            {
                var (host, n) = FindLocked(offset, data.Length);
                host ??= AllocateLocked(offset, n);
                _file.Write(host.Value, data[..(int)n]);
                offset += n;
                data = data[(int)n..];
            }
        }
    }

    /// <summary>Parallels has no zero clusters: zeroes are written as data, as QEMU's block layer does for it.</summary>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);
        var zeroes = new byte[(int)Math.Min(length, 1 << 20)];
        while (length > 0)
        {
            var n = (int)Math.Min(length, zeroes.Length);
            Write(offset, zeroes.AsSpan(0, n));
            offset += n;
            length -= n;
        }
    }

    /// <summary>Parallels has no discard: QEMU ignores it and the data stays (a discard is only a hint).</summary>
    public void Discard(long offset, long length) => HostMappedIo.IgnoredDiscard(_file, Length, offset, length);

    /// <inheritdoc/>
    public void Flush() => HostMappedIo.Flush(_file);

    /// <inheritdoc/>
    public IReadOnlyList<Extent> GetExtents(long offset, long length) => HostMappedIo.GetExtents(this, Length, offset, length);

    /// <summary>QEMU's block status: allocated clusters are data at their file offset, the rest unallocated.</summary>
    HostMapping IHostMappedImage.MapRun(long offset, long length)
    {
        lock (_lock)
        {
            var (host, n) = FindLocked(offset, length);
            return host is { } at ? new HostMapping(n, ExtentKind.Data, at) : new HostMapping(n, ExtentKind.Unallocated, null);
        }
    }

    /// <summary>
    /// Where guest byte <paramref name="offset"/> lies in the file (null when its cluster is unallocated or past the
    /// BAT), and how many bytes from there, at most <paramref name="length"/>, stay in that cluster.
    /// </summary>
    private (long? Host, long Length) FindLocked(long offset, long length)
    {
        var cluster = ClusterSize;
        var index = offset / cluster;
        var into = offset % cluster;
        var n = Math.Min(length, cluster - into);
        var entry = index < _bat.Count ? _bat[(uint)index] : 0;
        if (entry == 0)
        {
            // One answer for the whole unallocated run, so walks over huge sparse sizes stay short.
            while (n < length)
            {
                index++;
                if (index >= _bat.StoredCount)
                {
                    return (null, length);
                }

                if (_bat[(uint)index] != 0)
                {
                    break;
                }

                n = Math.Min(length, n + cluster);
            }

            return (null, n);
        }

        return (((long)entry * _header.OffsetMultiplier * ParallelsHeader.SectorSize) + into, n);
    }

    /// <summary>
    /// Allocates the unallocated cluster at <paramref name="offset"/> (with the unallocated clusters after it that
    /// the write covers, consecutive at the data end, as QEMU). When the file is too short for them it grows by them
    /// plus <c>prealloc-size</c>, zeroed (falloc) or by a truncate; with a backing node the clusters get its data
    /// first. Returns the file offset of <paramref name="offset"/>.
    /// </summary>
    private long AllocateLocked(long offset, long length)
    {
        var index = offset / ClusterSize;
        if (index >= _bat.Count)
        {
            // The header's size runs past its BAT; QEMU cannot write there either.
            throw new ErrnoException(EIO, ErrnoException.Text(EIO));
        }

        var count = 1L;
        while (index + count < _bat.Count && (index + count) * ClusterSize < offset + length && _bat[(uint)(index + count)] == 0)
        {
            count++;
        }

        var space = count * Tracks;
        var fileSectors = _file.Length / ParallelsHeader.SectorSize;
        if (_dataEnd + space > fileSectors)
        {
            space += _preallocSectors;
            if (_preallocTruncate)
            {
                try
                {
                    _file.SetLength((_dataEnd + space) * ParallelsHeader.SectorSize);
                }
                catch (NotSupportedException)
                {
                    _preallocTruncate = false;
                }
            }

            if (!_preallocTruncate)
            {
                GrowZeroed(_dataEnd * ParallelsHeader.SectorSize, space * ParallelsHeader.SectorSize);
            }
        }

        if (_backing is not null)
        {
            var copy = new byte[count * ClusterSize];
            ReadBacking(index * ClusterSize, copy);
            _file.Write(_dataEnd * ParallelsHeader.SectorSize, copy);
        }

        for (var i = 0L; i < count; i++)
        {
            if (_dataEnd / _header.OffsetMultiplier > uint.MaxValue)
            {
                throw new ErrnoException(ErrnoException.EFBIG, ErrnoException.Text(ErrnoException.EFBIG));
            }

            _bat.Set((uint)(index + i), (uint)(_dataEnd / _header.OffsetMultiplier));
            _dataEnd += Tracks;
        }

        var first = (long)_bat[(uint)index] * _header.OffsetMultiplier * ParallelsHeader.SectorSize;
        return first + (offset % ClusterSize);
    }

    /// <summary>Zeroes a range that may run past the end of the file, extending it (QEMU's write-zeroes on the file).</summary>
    private void GrowZeroed(long start, long length)
    {
        if (_file.Length < start + length)
        {
            _file.SetLength(start + length);
        }

        _file.WriteZeroes(start, length, mayUnmap: false);
    }
}
