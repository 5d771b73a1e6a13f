using DiskImage.IO;

namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>The storage the image is read from and written to (a blkdebug node when opened through one).</summary>
    internal IStorage File => _file;

    /// <summary>
    /// The guest clusters a write of <paramref name="count"/> bytes at <paramref name="offset"/> allocates, from the
    /// first to the last, as a byte range (empty when it writes only in place). While such a write is in flight QEMU
    /// makes every later write touching this range wait for it (its in-flight cluster allocations).
    /// </summary>
    internal (long Start, long End) AllocatingClusters(long offset, long count)
    {
        if (offset < 0 || count <= 0 || offset > Length - count)
        {
            return (0, 0);
        }

        long first = -1, last = -1;
        lock (_lock)
        {
            for (var position = offset; position < offset + count;)
            {
                var run = LookupLocked(position, offset + count - position);
                if (!(run.Copied && (run.Kind is Qcow2ClusterKind.Data or Qcow2ClusterKind.Zero) && run.HostOffset != 0))
                {
                    first = first < 0 ? position : first;
                    last = position + run.Length;
                }

                position += run.Length;
            }
        }

        if (first < 0)
        {
            return (0, 0);
        }

        var mask = (long)_clusterSize - 1;
        return (first & ~mask, (last + mask) & ~mask);
    }
}
