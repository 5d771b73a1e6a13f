using DiskImage.IO;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Kernel-side copies out of a qcow2 source: where guest data lies plainly in a host file (data clusters, or the backing
/// chain's), convert moves it into a raw target file to file with <c>copy_file_range</c> instead of a write from a buffer.
/// (Into a qcow2 target the same copy measured slower than the write: see docs/BENCHMARKS.md.)
/// </summary>
public sealed partial class Qcow2Image : IHostFileRuns
{
    /// <inheritdoc/>
    HostFileRun IHostFileRuns.GetHostFileRun(long offset, long length)
    {
        Qcow2Run run;
        lock (_lock)
        {
            run = LookupLocked(offset, length);
        }

        var plain = Cipher is null && _data is HostFile;
        switch (run.Kind)
        {
            case Qcow2ClusterKind.Data when plain:
                return new HostFileRun(run.Length, (HostFile)_data, run.HostOffset);
            case Qcow2ClusterKind.Unallocated when _backing is { } backing && offset < backing.Length:
                // As a read does: the backing file's bytes up to its end, zeroes after.
                var inBacking = Math.Min(run.Length, backing.Length - offset);
                return backing is IHostFileRuns runs ? runs.GetHostFileRun(offset, inBacking) : new HostFileRun(inBacking, null, 0);
            default:
                return new HostFileRun(run.Length, null, 0);
        }
    }
}
