namespace DiskImage.Formats.Vhdx;

/// <summary>
/// The two headers of an open image and the specification's update rule: the non-current copy is rewritten with
/// the next sequence number (and the session's file-write GUID) and becomes current. Updates are made in pairs,
/// so that both copies hold the new state, as QEMU makes them. Updates are serialised: writers on several threads
/// share one pair.
/// </summary>
internal sealed class VhdxHeaderPair(IO.IStorage file, byte[][] blocks, int currentIndex, VhdxHeader current)
{
    private readonly Guid _session = Guid.NewGuid();
    private readonly Lock _update = new();
    private bool _dataWriteGuidChanged;

    public VhdxHeader Current { get; private set; } = current;

    /// <summary>Before the first change a guest could see: a new data-write GUID, once per open.</summary>
    public void BeforeVisibleWrite()
    {
        // Checked without the lock first: after the first write this is on every write's path.
        if (Volatile.Read(ref _dataWriteGuidChanged))
        {
            return;
        }

        lock (_update)
        {
            if (!_dataWriteGuidChanged)
            {
                UpdateBoth(newDataWriteGuid: true, Current.LogGuid);
                Volatile.Write(ref _dataWriteGuidChanged, true);
            }
        }
    }

    /// <summary>Points both headers at a log GUID (zero: the log is empty).</summary>
    public void SetLogGuid(Guid logGuid)
    {
        lock (_update)
        {
            UpdateBoth(newDataWriteGuid: false, logGuid);
        }
    }

    private void UpdateBoth(bool newDataWriteGuid, Guid logGuid)
    {
        UpdateOne(newDataWriteGuid, logGuid);
        UpdateOne(newDataWriteGuid, logGuid);
    }

    private void UpdateOne(bool newDataWriteGuid, Guid logGuid)
    {
        var index = 1 - currentIndex;
        var next = Current with
        {
            SequenceNumber = Current.SequenceNumber + 1,
            FileWriteGuid = _session,
            DataWriteGuid = newDataWriteGuid ? Guid.NewGuid() : Current.DataWriteGuid,
            LogGuid = logGuid,
        };
        next.WriteTo(blocks[index]);
        file.Write(index == 0 ? VhdxHeader.FirstOffset : VhdxHeader.SecondOffset, blocks[index]);
        file.Flush();
        currentIndex = index;
        Current = next;
    }
}
