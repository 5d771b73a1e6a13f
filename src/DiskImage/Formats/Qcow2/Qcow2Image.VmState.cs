namespace DiskImage.Formats.Qcow2;

/// <summary>
/// The VM state area: guest addresses from the first L1 entry past the virtual disk on (QEMU's
/// qcow2_vm_state_offset), mapped through the same L1 and L2 tables as the disk, so an internal snapshot's
/// copy of the L1 table keeps it. Writing there grows the L1 table as QEMU does (by half again each time).
/// Dirty bitmaps do not track it: they cover the virtual disk only.
/// </summary>
public sealed partial class Qcow2Image : IVmStateArea
{
    /// <summary>The block layer's largest offset (INT64_MAX rounded down to 1 GiB).</summary>
    private const long MaxGuestOffset = long.MaxValue & ~((1L << 30) - 1);

    /// <summary>Where the VM state area starts in guest address space.</summary>
    internal long VmStateOffset => L1EntriesFor(_header.Size) << (_clusterBits + _l2Bits);

    /// <inheritdoc/>
    void IVmStateArea.ReadVmState(long position, Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var offset = VmStateRange(position, buffer.Length);
        CheckDataAccess();
        ReadCore(offset, buffer);
    }

    /// <inheritdoc/>
    void IVmStateArea.WriteVmState(long position, ReadOnlySpan<byte> data)
    {
        CheckWritable();
        var offset = VmStateRange(position, data.Length);
        CheckDataAccess();
        if (data.Length == 0)
        {
            return;
        }

        lock (_lock)
        {
            var lastL1Index = (offset + data.Length - 1) >> (_clusterBits + _l2Bits);
            GrowL1ForLocked(lastL1Index + 1);
        }

        WriteGuest(offset, data);
    }

    /// <summary>The guest offset of a VM state request, or an I/O error when it leaves the addressable range.</summary>
    private long VmStateRange(long position, int length)
    {
        var start = VmStateOffset;
        if (position < 0 || position > MaxGuestOffset - start || length > MaxGuestOffset - start - position)
        {
            throw new IOException("Input/output error");
        }

        return start + position;
    }

    /// <summary>
    /// Grows the active L1 table to hold at least <paramref name="entries"/> entries, by half again each step as
    /// QEMU does for writes past the table, so a growing VM state does not move the table on every cluster.
    /// </summary>
    private void GrowL1ForLocked(long entries)
    {
        if (entries <= _l1.Length)
        {
            return;
        }

        long size = Math.Max(_l1.Length, 1);
        while (size < entries && size <= Qcow2Constants.MaxL1Bytes / 8)
        {
            size = (size * 3 + 1) / 2;
        }

        if (entries > int.MaxValue / 8 || size > Qcow2Constants.MaxL1Bytes / 8)
        {
            throw new FileTooLargeException();
        }

        FlushMetadataLocked();
        var next = new ulong[size];
        Array.Copy(_l1, next, _l1.Length);
        ReplaceActiveL1Locked(next, grow: true);
        FlushMetadataLocked();
    }
}
