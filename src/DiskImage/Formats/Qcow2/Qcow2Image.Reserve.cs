namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image : IReservingWriter
{
    /// <inheritdoc/>
    IReservedWrite? IReservingWriter.TryReserve(long offset, int length)
    {
        CheckWritable();
        CheckRange(offset, length);
        CheckDataAccess();
        if (length <= 0 || (offset & (_clusterSize - 1)) != 0 || (length & (_clusterSize - 1)) != 0)
        {
            return null;
        }

        MarkBitmapsDirty(offset, length);
        var reservations = new List<WholeClusterReservation>(1);
        lock (_lock)
        {
            // The same allocations, in the same order, as WriteGuest makes for this range when it is written at once.
            for (var position = offset; position < offset + length;)
            {
                if (!TryReserveWholeClustersLocked(position, (int)(offset + length - position), out var reservation))
                {
                    AbortLocked(reservations);
                    return null;
                }

                reservations.Add(reservation);
                position += (long)reservation.Count << _clusterBits;
            }
        }

        return new ReservedWrite(this, offset, length, reservations);
    }

    private void AbortLocked(List<WholeClusterReservation> reservations)
    {
        foreach (var reservation in reservations)
        {
            AbortAllocationLocked(reservation.HostOffset, reservation.Count);
        }
    }

    /// <summary>Whole unallocated clusters whose host clusters are taken; linked once their data is on the file.</summary>
    private sealed class ReservedWrite(Qcow2Image image, long offset, int length, List<WholeClusterReservation> reservations) : IReservedWrite
    {
        private bool _done;

        public void Write(ReadOnlySpan<byte> data)
        {
            if (data.Length != length)
            {
                throw new ArgumentException("The data does not match the reserved range.", nameof(data));
            }

            Finish();
            var done = 0;
            try
            {
                foreach (var reservation in reservations)
                {
                    var bytes = reservation.Count << image._clusterBits;
                    image.WriteHostData(offset + done, reservation.HostOffset, data.Slice(done, bytes));
                    done += bytes;
                }
            }
            catch
            {
                lock (image._lock)
                {
                    image.AbortLocked(reservations);
                }

                throw;
            }

            lock (image._lock)
            {
                foreach (var reservation in reservations)
                {
                    image.CommitWholeClustersLocked(reservation);
                }
            }
        }

        public void Abort()
        {
            Finish();
            lock (image._lock)
            {
                image.AbortLocked(reservations);
            }
        }

        private void Finish()
        {
            if (_done)
            {
                throw new InvalidOperationException("A reserved write is written or aborted once.");
            }

            _done = true;
        }
    }
}
