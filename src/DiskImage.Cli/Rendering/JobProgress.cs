using DiskImage.Operations;

namespace DiskImage.Cli.Rendering;

/// <summary>
/// A block job's progress as qemu-img computes it from the job's counters: done / total * 100 in single precision
/// (0 while the total is 0), so the figures round as qemu-img's do.
/// </summary>
internal sealed class JobProgress(QemuProgress printer) : IProgress<OperationProgress>
{
    public void Report(OperationProgress value) =>
        printer.Report(value.Total == 0 ? 0f : (float)value.Completed / value.Total * 100f);
}
