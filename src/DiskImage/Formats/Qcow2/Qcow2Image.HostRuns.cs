namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Which host clusters a guest write takes, chosen as QEMU chooses them, so that the same sequence of requests leaves
/// the same host offsets: new clusters are taken as one run covering every cluster of the request (within one L2
/// table) that needs a new one, a partial first or last cluster included; a run that follows clusters the request
/// already wrote is first tried right after them; and clusters freed by earlier writes are found again by the search.
/// </summary>
public sealed partial class Qcow2Image
{
    /// <summary>QEMU's largest request, in bytes (INT_MAX rounded down to whole sectors).</summary>
    private const long MaxRequestBytes = int.MaxValue & ~511L;

    /// <summary>QEMU hands an encrypted write to the allocator in pieces of at most this many clusters.</summary>
    private const int MaxEncryptedRequestClusters = 32;

    /// <summary>The state of one guest write's allocations, from one piece of it to the next.</summary>
    private sealed class HostRunCursor(long requestStart, long requestEnd)
    {
        public long RequestStart { get; } = requestStart;

        public long RequestEnd { get; } = requestEnd;

        /// <summary>The host cluster right after the last one this request wrote, or -1: where a new run is tried first.</summary>
        public long ExpectedHost { get; set; } = -1;

        /// <summary>First guest cluster of the clusters taken and not yet written.</summary>
        public long ReservedGuest { get; set; }

        /// <summary>Host offset for <see cref="ReservedGuest"/>.</summary>
        public long ReservedHost { get; set; }

        /// <summary>How many taken clusters are not yet written.</summary>
        public int ReservedCount { get; set; }
    }

    /// <summary>Notes that a piece of the request ended at <paramref name="hostEnd"/> (exclusive) in the image file.</summary>
    private void NoteHostEndLocked(HostRunCursor cursor, long hostEnd)
    {
        cursor.ExpectedHost = hostEnd <= 0 ? -1 : ((hostEnd - 1) & ~((long)_clusterSize - 1)) + _clusterSize;
    }

    /// <summary>
    /// Starts the piece of the request at <paramref name="position"/>: an encrypted request reaches QEMU's allocator
    /// in pieces of 32 clusters, each of which starts a new search.
    /// </summary>
    private void BeginPieceLocked(HostRunCursor cursor, long position)
    {
        if (Cipher is not null && position > cursor.RequestStart
            && (position - cursor.RequestStart) % ((long)MaxEncryptedRequestClusters << _clusterBits) == 0)
        {
            ReleaseReservedLocked(cursor);
            cursor.ExpectedHost = -1;
        }
    }

    /// <summary>
    /// The host offset for new data in <paramref name="guestCluster"/>, whose L2 table exists and is writable; a run is
    /// taken for it and for the clusters after it that QEMU allocates together with it. <paramref name="available"/>
    /// says how many clusters from <paramref name="guestCluster"/> on the run still covers; callers use what they
    /// write with <see cref="ConsumeReservedLocked"/>.
    /// </summary>
    private long TakeDataClustersLocked(HostRunCursor cursor, long guestCluster, out int available)
    {
        if (HasDataFile)
        {
            // The data file's clusters are the guest's, one to one, and not counted.
            available = int.MaxValue;
            return guestCluster << _clusterBits;
        }

        if (cursor.ReservedCount > 0)
        {
            var skipped = guestCluster - cursor.ReservedGuest;
            if (skipped >= 0 && skipped < cursor.ReservedCount)
            {
                if (skipped > 0)
                {
                    // Clusters another writer filled meanwhile: given back.
                    _refcounts!.Release(cursor.ReservedHost, (int)skipped);
                    cursor.ReservedGuest = guestCluster;
                    cursor.ReservedHost += skipped << _clusterBits;
                    cursor.ReservedCount -= (int)skipped;
                }

                available = cursor.ReservedCount;
                return cursor.ReservedHost;
            }

            ReleaseReservedLocked(cursor);
        }

        var refcounts = _refcounts!;
        var wanted = CountClustersNeedingNewHostLocked(cursor, guestCluster);
        long host = -1;
        var got = 0;
        if (cursor.ExpectedHost > 0)
        {
            var at = cursor.ExpectedHost >> _clusterBits;
            ApplyFreesBelowLocked(at + wanted);
            got = (int)refcounts.AllocateAt(at, wanted);
            if (got > 0)
            {
                host = cursor.ExpectedHost;
            }
        }

        if (got == 0)
        {
            if (_pendingFrees.Count > 0)
            {
                // Only then: the search reads refcount blocks, which QEMU loads after the allocation's blkdebug event.
                ApplyFreesBelowLocked(refcounts.FindFree(wanted) + wanted);
            }

            host = refcounts.Allocate(wanted);
            got = wanted;
        }

        cursor.ReservedGuest = guestCluster;
        cursor.ReservedHost = host;
        cursor.ReservedCount = got;
        available = got;
        return host;
    }

    /// <summary>Marks <paramref name="count"/> clusters taken by <see cref="TakeDataClustersLocked"/> as written (or given back by the caller).</summary>
    private void ConsumeReservedLocked(HostRunCursor cursor, long hostOffset, int count)
    {
        if (!HasDataFile)
        {
            cursor.ReservedGuest += count;
            cursor.ReservedHost += (long)count << _clusterBits;
            cursor.ReservedCount -= count;
        }

        cursor.ExpectedHost = hostOffset + ((long)count << _clusterBits);
    }

    /// <summary>Gives back the clusters the request took and did not write (a failed write, or clusters filled by another writer).</summary>
    private void ReleaseReservedLocked(HostRunCursor cursor)
    {
        if (cursor.ReservedCount > 0)
        {
            _refcounts!.Release(cursor.ReservedHost, cursor.ReservedCount);
            cursor.ReservedCount = 0;
        }
    }

    /// <summary>
    /// QEMU's count of clusters to allocate together: from <paramref name="guestCluster"/> on, every cluster that needs a
    /// new host cluster (unallocated, zero without a host cluster, compressed, or shared), up to the request's end, the
    /// L2 table's end or QEMU's largest request. At least one.
    /// </summary>
    private int CountClustersNeedingNewHostLocked(HostRunCursor cursor, long guestCluster)
    {
        var end = cursor.RequestEnd;
        if (Cipher is not null)
        {
            var piece = (long)MaxEncryptedRequestClusters << _clusterBits;
            end = Math.Min(end, cursor.RequestStart + (((guestCluster << _clusterBits) - cursor.RequestStart) / piece + 1) * piece);
        }

        var endCluster = (end + _clusterSize - 1) >> _clusterBits;
        var l2Index = (int)(guestCluster & (L2Entries - 1));
        var limit = (int)Math.Min(Math.Min(endCluster - guestCluster, L2Entries - l2Index), MaxRequestBytes >> _clusterBits);
        var l2Offset = L2OffsetOf(guestCluster >> _l2Bits);
        if (l2Offset == 0 || limit <= 1)
        {
            return 1;
        }

        var table = _l2Cache.Get(l2Offset);
        var count = 1;
        while (count < limit && NeedsNewHostCluster(ReadEntry(table, l2Index + count)))
        {
            count++;
        }

        return count;
    }

    private static bool NeedsNewHostCluster(ulong entry) =>
        (entry & Qcow2Constants.FlagCompressed) != 0
        || (entry & Qcow2Constants.L2OffsetMask) == 0
        || (entry & Qcow2Constants.FlagCopied) == 0;

    /// <summary>
    /// QEMU frees a cluster in its refcount cache as soon as nothing references it, and its next search may take it
    /// again. Here a free waits until the L2 change that dropped the reference is on disk; when a waiting free would
    /// give a cluster below <paramref name="limitCluster"/> back (so the search could take it), the metadata is flushed
    /// first, applying it, so the search sees the same free space as QEMU's.
    /// </summary>
    private void ApplyFreesBelowLocked(long limitCluster)
    {
        if (_pendingFrees.Count == 0)
        {
            return;
        }

        Dictionary<long, int>? counts = null;
        foreach (var cluster in _pendingFrees)
        {
            if (cluster < limitCluster)
            {
                counts ??= [];
                counts[cluster] = counts.GetValueOrDefault(cluster) + 1;
            }
        }

        if (counts is null)
        {
            return;
        }

        foreach (var (cluster, frees) in counts)
        {
            if (_refcounts!.Get(cluster) <= (ulong)frees)
            {
                FlushMetadataLocked();
                return;
            }
        }
    }
}
