using DiskImage.Operations;

namespace DiskImage.Cli.Rendering;

/// <summary>amend's figures as qemu-img computes them from the driver's offset and work size: 100 * offset / total in single precision.</summary>
internal sealed class AmendProgress(QemuProgress printer) : IProgress<OperationProgress>
{
    public void Report(OperationProgress value)
    {
        if (value.Total > 0)
        {
            printer.Report(100f * value.Completed / value.Total);
        }
    }
}
