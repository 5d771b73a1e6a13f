using DiskImage.IO;

namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>
    /// Gives a freshly created image (size 0, no L1) its virtual size: allocates and writes the L1 table,
    /// updates the header, then preallocates as asked.
    /// </summary>
    internal void InitializeNew(long size, Preallocation preallocation)
    {
        lock (_lock)
        {
            var bytesPerL2 = (long)L2Entries << _clusterBits;
            var l1Size = (int)((size + bytesPerL2 - 1) / bytesPerL2);
            if (l1Size * 8L > Qcow2Constants.MaxL1Bytes)
            {
                throw new InvalidOptionException("Image size is too large for this cluster size");
            }

            if (_file is IO.Iscsi.IscsiStorage && size > 0 && preallocation is Preallocation.Full or Preallocation.Falloc)
            {
                // QEMU's resize of an empty image fails on a LUN before anything is written: the image stays at size 0.
                throw new UnsupportedFeatureException($"Could not resize image: Failed to resize underlying file: Unsupported preallocation mode '{preallocation.ToString().ToLowerInvariant()}'");
            }

            long l1Offset = 0;
            if (l1Size > 0)
            {
                var clusters = (int)(((l1Size * 8L) + _clusterSize - 1) >> _clusterBits);
                l1Offset = _refcounts!.Allocate(clusters);
                _refcounts.WriteDirty();
                _file.Flush();
                _file.Write(l1Offset, new byte[l1Size * 8L]);
            }

            _l1 = new ulong[l1Size];
            // QEMU creates the image at size 0 and grows it: a preallocating growth into a file lays out new refcount
            // structures and the data run as a resize does, and the size goes into the header last.
            var grows = preallocation is Preallocation.Full or Preallocation.Falloc && !HasDataFile && _file is HostFile;
            _header = _header with { Size = grows ? 0 : size, L1Size = l1Size, L1TableOffset = l1Offset };
            _file.Flush();
            WriteHeaderLocked();
            _file.Flush();
            if (grows)
            {
                GrowPreallocatedLocked(0, size, preallocation);
            }
            else if (preallocation != Preallocation.Off && size > 0)
            {
                try
                {
                    PreallocateLocked(size, preallocation);
                }
                catch (UnsupportedFeatureException e)
                {
                    // Storage whose size is not ours to change (an NBD export): qemu-img's create reports it as its
                    // failed resize, which under falloc and full preallocation resizes the file first.
                    var step = preallocation is Preallocation.Full or Preallocation.Falloc ? "Failed to resize underlying file: " : "";
                    throw new UnsupportedFeatureException($"Could not resize image: {step}{e.Message}", e);
                }
            }

            FlushMetadataLocked();
        }
    }

    /// <summary>
    /// QEMU sizes the host file for the whole preallocation before filling it, so a size the file system cannot hold
    /// (EFBIG) fails at once instead of after writing until the disk is full. The data clusters alone are a lower
    /// bound of that size; the file is set to it and back.
    /// </summary>
    private void EnsureHostCanHold(long clusters)
    {
        var current = _file.Length;
        var needed = clusters > (long.MaxValue - current) >> _clusterBits ? long.MaxValue : current + (clusters << _clusterBits);
        if (needed == long.MaxValue)
        {
            throw new FileTooLargeException();
        }

        _file.SetLength(needed);
        _file.SetLength(current);
    }

    /// <summary>
    /// Maps every cluster to its own host cluster (L2 table first, then its data clusters), as QEMU's metadata
    /// preallocation does. With extended L2 entries no subcluster is marked allocated.
    /// </summary>
    private void PreallocateLocked(long size, Preallocation preallocation)
    {
        var clusters = (size + _clusterSize - 1) >> _clusterBits;
        if (!HasDataFile && _file is IO.Ssh.SshStorage)
        {
            // The ssh driver cannot preallocate (QEMU's refusal of the file's resize) nor cut a file back, so the
            // size check below, which grows the file and cuts it again, is not made there: the file only grows.
            if (preallocation is Preallocation.Falloc or Preallocation.Full)
            {
                throw new UnsupportedFeatureException($"Unsupported preallocation mode '{preallocation.ToString().ToLowerInvariant()}'");
            }
        }
        else if (_file is not IO.Iscsi.IscsiStorage && !HasDataFile)
        {
            EnsureHostCanHold(clusters);
        }

        long dataEnd = 0;
        for (long first = 0; first < clusters; first += L2Entries)
        {
            var l2Offset = L2TableForWriteLocked(first >> _l2Bits);
            var count = (int)Math.Min(L2Entries, clusters - first);
            var host = AllocateDataClustersLocked(first, count);
            var table = _l2Cache.Get(l2Offset);
            for (var i = 0; i < count; i++)
            {
                // With extended L2 the subclusters stay unallocated, as in QEMU: they read as the backing file or zeroes.
                SetEntryLocked(table, l2Offset, i, (ulong)(host + ((long)i << _clusterBits)) | Qcow2Constants.FlagCopied, 0);
            }

            var bytes = (long)count << _clusterBits;
            switch (HasDataFile ? Preallocation.Metadata : preallocation)
            {
                case Preallocation.Falloc:
                    if (!_file.TryAllocate(host, bytes))
                    {
                        _file.WriteZeroBytes(host, bytes);
                    }

                    break;
                case Preallocation.Full:
                    _file.WriteZeroBytes(host, bytes);
                    break;
            }

            dataEnd = Math.Max(dataEnd, host + bytes);
        }

        FlushMetadataLocked();
        if (_file is IO.Iscsi.IscsiStorage onLun)
        {
            // A LUN keeps its size: the data clusters must lie inside it (QEMU's truncate refuses to grow it).
            if (dataEnd > onLun.Length)
            {
                throw new UnsupportedFeatureException("Cannot grow iSCSI devices");
            }

            return;
        }

        ExtendDataLocked(dataEnd, preallocation);
    }

    /// <summary>
    /// Makes the file holding the data clusters at least <paramref name="dataEnd"/> bytes long, so every mapped cluster
    /// can be read. A data file gets the preallocation asked for on what it grows by (QEMU forwards it there).
    /// </summary>
    private void ExtendDataLocked(long dataEnd, Preallocation preallocation)
    {
        var current = _data.Length;
        if (current >= dataEnd)
        {
            return;
        }

        switch (DataFileOpen ? preallocation : Preallocation.Off)
        {
            case Preallocation.Full:
                _data.WriteZeroBytes(current, dataEnd - current);
                break;
            case Preallocation.Falloc when _data.TryAllocate(current, dataEnd - current):
                break;
            default:
                _data.SetLength(dataEnd);
                break;
        }
    }
}
