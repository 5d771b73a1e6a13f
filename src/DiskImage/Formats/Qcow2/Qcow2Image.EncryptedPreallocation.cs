namespace DiskImage.Formats.Qcow2;

/// <summary>
/// What a preallocated cluster of an encrypted image reads as. Preallocation gives clusters host space
/// but writes no ciphertext, and decrypting whatever the file holds there yields random bytes. Such a
/// cluster must read as zeroes: version 3 marks it zero while keeping its host cluster (QEMU's own
/// result after a preallocated encrypted convert); version 2 has no zero flag, so it gets encrypted zeroes.
/// </summary>
public sealed partial class Qcow2Image
{
    /// <summary>
    /// Makes every data cluster of a freshly created, just-encrypted image read as zeroes. Preallocation
    /// runs before the LUKS area is set up (QEMU's layout), so its clusters are fixed up here.
    /// </summary>
    internal void ZeroPreallocatedClusters()
    {
        CheckWritable();
        if (Cipher is null)
        {
            return;
        }

        lock (_lock)
        {
            for (var l1Index = 0; l1Index < _l1.Length; l1Index++)
            {
                var l2Offset = L2OffsetOf(l1Index);
                if (l2Offset == 0)
                {
                    continue;
                }

                for (var index = 0; index < L2Entries; index++)
                {
                    var entry = ReadEntry(_l2Cache.Get(l2Offset), index);
                    var host = (long)(entry & Qcow2Constants.L2OffsetMask);
                    if (host != 0 && (entry & (Qcow2Constants.FlagCompressed | Qcow2Constants.FlagZero)) == 0)
                    {
                        LinkZeroPreallocatedLocked((((long)l1Index << _l2Bits) + index) << _clusterBits, l2Offset, index, host, ReadBitmap(_l2Cache.Get(l2Offset), index));
                    }
                }
            }

            FlushMetadataLocked();
        }
    }

    /// <summary>
    /// Links a preallocated host cluster of an encrypted image at an L2 entry so that it reads as zeroes: a
    /// zero-flagged entry keeping the host cluster, or on version 2 the cluster filled with encrypted zeroes.
    /// With extended L2 entries the subclusters of a preallocated cluster are unallocated (never decrypted),
    /// so <paramref name="bitmap"/> (zero marks only) is linked as it is.
    /// </summary>
    private void LinkZeroPreallocatedLocked(long guestOffset, long l2Offset, int index, long host, ulong bitmap)
    {
        var entry = (ulong)host | Qcow2Constants.FlagCopied;
        if (_header.Version < 3)
        {
            WriteHostData(guestOffset, host, new byte[_clusterSize]);
        }
        else if (!_extendedL2)
        {
            entry |= Qcow2Constants.FlagZero;
        }

        SetEntryLocked(_l2Cache.Get(l2Offset), l2Offset, index, entry, bitmap);
    }
}
