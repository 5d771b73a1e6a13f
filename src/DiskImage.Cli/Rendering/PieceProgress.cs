using DiskImage.Operations;

namespace DiskImage.Cli.Rendering;

/// <summary>
/// Progress counted in pieces of equal weight (rebase's): each piece done adds 100 / total percent to the figure in
/// single precision, one piece at a time, as qemu-img adds them.
/// </summary>
internal sealed class PieceProgress(QemuProgress printer) : IProgress<OperationProgress>
{
    private long _done;

    public void Report(OperationProgress value)
    {
        for (; _done < value.Completed && value.Total > 0; _done++)
        {
            printer.Advance(100f / value.Total);
        }
    }
}
