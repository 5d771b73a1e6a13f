using System.Buffers;
using System.Text;

namespace DiskImage.Formats.Vmdk;

/// <summary>
/// Writes, as QEMU makes them: a new grain goes to the end of its extent file (whole, with the parent's
/// data or zeroes around the new bytes) before its grain table entries point at it; stream-optimized
/// extents take whole grains only, compressed and appended, and never overwrite a grain.
/// </summary>
public sealed partial class VmdkImage : ICompressedClusterWriter
{
    private bool _cidUpdated;
    private bool _compressedWritten;

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        lock (_writeLock)
        {
            var index = 0;
            while (!data.IsEmpty)
            {
                index = FindExtent(offset, index);
                var extent = _extents[index];
                var inExtent = offset - extent.Start;
                var n = (int)Math.Min(data.Length, extent.Flat ? extent.Bytes - inExtent : extent.ClusterBytes - inExtent % extent.ClusterBytes);
                n = (int)Math.Min(n, extent.Bytes - inExtent);
                WriteGrainLocked(extent, inExtent, data[..n]);
                UpdateCidLocked();
                offset += n;
                data = data[n..];
            }
        }
    }

    private void WriteGrainLocked(VmdkExtent extent, long inExtent, ReadOnlySpan<byte> data)
    {
        if (extent.Flat)
        {
            extent.File.Raise(IO.Blkdebug.BlkdebugEvent.WriteAio);
            extent.File.Write(extent.FlatStart + inExtent, data);
            return;
        }

        if (extent.SeSparse)
        {
            throw new UnsupportedFeatureException("No write support for seSparse images available");
        }

        var grain = extent.Lookup(inExtent);
        var inGrain = inExtent % extent.ClusterBytes;
        if (extent.Compressed)
        {
            WriteCompressedGrainLocked(extent, inExtent, inGrain, grain, data);
            return;
        }

        if (grain.State == VmdkGrainState.Data)
        {
            extent.File.Raise(IO.Blkdebug.BlkdebugEvent.WriteAio);
            extent.File.Write(grain.HostOffset + inGrain, data);
            return;
        }

        if (!extent.HasTableFor(inExtent))
        {
            throw new UnsupportedFeatureException($"The grain table for offset {extent.Start + inExtent} is missing in '{extent.File.Name}'");
        }

        var grainBytes = (int)extent.ClusterBytes;
        var whole = ArrayPool<byte>.Shared.Rent(grainBytes);
        try
        {
            var buffer = whole.AsSpan(0, grainBytes);
            var grainStart = extent.Start + inExtent - inGrain;
            buffer.Clear();
            if (_backing is not null && grain.State == VmdkGrainState.Unallocated)
            {
                // Copy-on-write: the rest of the grain comes from the parent.
                var available = (int)Math.Clamp(Math.Min(_backing.Length, Length) - grainStart, 0, grainBytes);
                if (available > 0)
                {
                    CheckParent();
                    _backing.Read(grainStart, buffer[..available]);
                }
            }

            data.CopyTo(buffer[(int)inGrain..]);
            var host = extent.Allocate(extent.ClusterSectors);
            extent.File.Raise(IO.Blkdebug.BlkdebugEvent.WriteAio);
            extent.File.Write(host, buffer);
            extent.SetEntry(inExtent, (uint)(host >> 9));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(whole);
        }
    }

    private void WriteCompressedGrainLocked(VmdkExtent extent, long inExtent, long inGrain, VmdkGrain grain, ReadOnlySpan<byte> data)
    {
        if (grain.State == VmdkGrainState.Data)
        {
            throw new UnsupportedFeatureException("Could not write to allocated cluster for streamOptimized");
        }

        var wholeGrain = data.Length == extent.ClusterBytes || inExtent + data.Length == extent.Bytes;
        if (inGrain != 0 || !wholeGrain)
        {
            throw new UnsupportedFeatureException("streamOptimized images take whole grains only");
        }

        var output = ArrayPool<byte>.Shared.Rent(VmdkGrainCodec.MaxMarkedSize((int)extent.ClusterBytes));
        try
        {
            var length = VmdkGrainCodec.CompressWithMarker(data, (extent.Start + inExtent) >> 9, output);
            StoreCompressedLocked(extent, inExtent, output.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    private void StoreCompressedLocked(VmdkExtent extent, long inExtent, ReadOnlySpan<byte> marked)
    {
        if (!extent.HasTableFor(inExtent))
        {
            throw new UnsupportedFeatureException($"The grain table for offset {extent.Start + inExtent} is missing in '{extent.File.Name}'");
        }

        var host = extent.Allocate(marked.Length / VmdkConstants.SectorSize);

        // QEMU allocates a whole grain of zeroes first and writes the compressed grain over its start; the next grain
        // goes right after the compressed one, so the file ends one whole grain after the last grain's start.
        var wholeGrainEnd = host + extent.ClusterBytes;
        if (extent.File.Length < wholeGrainEnd)
        {
            extent.File.SetLength(wholeGrainEnd);
        }

        extent.File.Write(host, marked);
        extent.SetEntry(inExtent, (uint)(host >> 9));
        _compressedWritten = true;
    }

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);
        var end = offset + length;
        var zeroes = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            zeroes.AsSpan().Clear();
            while (offset < end)
            {
                var extent = _extents[FindExtent(offset, 0)];
                var inExtent = offset - extent.Start;
                var grain = extent.Lookup(inExtent);
                var n = Math.Min(end - offset, grain.Length);
                if (!extent.Flat && ReadsAsZeroWithoutParent(grain))
                {
                    offset += n;
                    continue;
                }

                if (!extent.Flat && extent.HasZeroGrain && inExtent % extent.ClusterBytes == 0 && n == Math.Min(extent.ClusterBytes, extent.Bytes - inExtent)
                    && n == grain.Length && extent.HasTableFor(inExtent))
                {
                    lock (_writeLock)
                    {
                        extent.SetEntry(inExtent, VmdkConstants.ZeroedGrainEntry);
                        UpdateCidLocked();
                    }

                    offset += n;
                    continue;
                }

                var step = (int)Math.Min(n, zeroes.Length);
                Write(offset, zeroes.AsSpan(0, step));
                offset += step;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(zeroes);
        }
    }

    private bool ReadsAsZeroWithoutParent(in VmdkGrain grain) =>
        grain.State == VmdkGrainState.Zero || (grain.State == VmdkGrainState.Unallocated && _backing is null);

    /// <summary>VMDK has no discard; the range is made to read as zeroes instead.</summary>
    public void Discard(long offset, long length) => WriteZeroes(offset, length, mayUnmap: true);

    /// <summary>The grain size of the (first) extent: the unit of compressed writes.</summary>
    public int ClusterSize => (int)Math.Min(1 << 30, _extents[0].Flat ? 1 << 16 : _extents[0].ClusterBytes);

    /// <summary>The first extent is flat: it has no grain, so QEMU reports no cluster size for it.</summary>
    internal bool HasNoClusterSize => _extents[0].Flat;

    /// <summary>Whether every write must be a whole compressed grain (stream-optimized), so convert compresses on its workers.</summary>
    public bool RequiresCompressedWrites => _extents.All(e => e.Compressed);

    /// <inheritdoc/>
    public bool TryCompressCluster(ReadOnlySpan<byte> cluster, Span<byte> output, out int written)
    {
        if (!RequiresCompressedWrites)
        {
            // QEMU's compressed write into an extent that is not stream-optimized is a plain write of the whole grain.
            written = 0;
            return false;
        }

        // The marker and sector padding are added when the grain is stored; here only the zlib stream is made.
        var buffer = ArrayPool<byte>.Shared.Rent(VmdkGrainCodec.MaxMarkedSize(cluster.Length));
        try
        {
            var length = VmdkGrainCodec.CompressWithMarker(cluster, 0, buffer);
            if (length > output.Length)
            {
                written = 0;
                return false;
            }

            buffer.AsSpan(0, length).CopyTo(output);
            written = length;
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc/>
    public void WriteCompressedCluster(long guestOffset, ReadOnlySpan<byte> compressed)
    {
        CheckWritable();
        lock (_writeLock)
        {
            var extent = _extents[FindExtent(guestOffset, 0)];
            var inExtent = guestOffset - extent.Start;
            if (!extent.Compressed)
            {
                throw new UnsupportedFeatureException("Compressed writes need a streamOptimized image");
            }

            if (extent.Lookup(inExtent).State == VmdkGrainState.Data)
            {
                throw new UnsupportedFeatureException("Could not write to allocated cluster for streamOptimized");
            }

            // The worker made the marker with LBA 0; the real LBA goes in now.
            var marked = ArrayPool<byte>.Shared.Rent(compressed.Length);
            try
            {
                compressed.CopyTo(marked);
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(marked, guestOffset >> 9);
                StoreCompressedLocked(extent, inExtent, marked.AsSpan(0, compressed.Length));
                UpdateCidLocked();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(marked);
            }
        }
    }

    /// <summary>On the first write after open the CID changes, so children made against the old content notice.</summary>
    private void UpdateCidLocked()
    {
        if (_cidUpdated)
        {
            return;
        }

        _cidUpdated = true;
        var file = _layout.Main;
        var window = new byte[VmdkConstants.CidWindowBytes];
        file.Read(_layout.DescriptorOffset, window);
        var text = VmdkDescriptor.Decode(window.AsSpan(0, window.Length - 1));
        var parentAt = text.IndexOf("parentCID", StringComparison.Ordinal);
        var cidAt = text.IndexOf("CID", StringComparison.Ordinal);
        if (parentAt < 0 || cidAt < 0)
        {
            throw new InvalidImageException("Invalid VMDK descriptor: no parentCID");
        }

        var cid = (uint)Random.Shared.NextInt64(0, 1L << 32);
        var head = text[..(cidAt + 4)];
        var updated = head + cid.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + "\n" + text[parentAt..];
        // The new text goes over the old window as QEMU's string functions put it there: ended by a NUL, the old
        // bytes past it kept (one is left over when the new CID has fewer digits), the window's last byte zeroed.
        var bytes = window;
        bytes[^1] = 0;
        var count = Encoding.Latin1.GetBytes(updated.AsSpan(0, Math.Min(updated.Length, bytes.Length - 1)), bytes);
        bytes[count] = 0;

        // QEMU writes the whole window back, but a separate descriptor file only grows to its next sector boundary.
        var sectorEnd = (file.Length + VmdkConstants.SectorSize - 1) / VmdkConstants.SectorSize * VmdkConstants.SectorSize;
        var written = (int)Math.Clamp(sectorEnd - _layout.DescriptorOffset, 0, bytes.Length);
        file.Write(_layout.DescriptorOffset, bytes.AsSpan(0, written));
        Cid = cid;
    }

    private void FlushLocked()
    {
        _layout.Main.Flush();
        foreach (var extent in _extents)
        {
            if (!ReferenceEquals(extent.File, _layout.Main))
            {
                extent.File.Flush();
            }
        }
    }

    /// <summary>On close: a stream-optimized file is padded to a whole sector (QEMU's end-of-stream step), then flushed.</summary>
    private void FinishLocked()
    {
        if (_compressedWritten)
        {
            foreach (var extent in _extents.Where(e => e.Compressed))
            {
                var length = extent.File.Length;
                var aligned = (length + VmdkConstants.SectorSize - 1) / VmdkConstants.SectorSize * VmdkConstants.SectorSize;
                if (aligned != length)
                {
                    extent.File.SetLength(aligned);
                }
            }
        }

        FlushLocked();
    }

    private void CheckWritable()
    {
        if (!_writable)
        {
            throw new InvalidOperationException("The image was opened read-only.");
        }
    }
}
