namespace DiskImage.Operations.Conversion;

/// <summary>
/// The copy pipeline's figures as the public <see cref="OperationProgress"/>: bytes of data copied of the data to
/// copy. Guest ranges that read as zero do not move it, so only a step in data is passed on (the pipeline reports
/// from its one writer loop, so no lock is needed).
/// </summary>
internal sealed class DataProgress(IProgress<OperationProgress> target) : IProgress<CopyProgress>
{
    private long _last = -1;

    public void Report(CopyProgress value)
    {
        if (value.DataDone != _last)
        {
            _last = value.DataDone;
            target.Report(new OperationProgress(value.DataDone, value.DataTotal));
        }
    }
}
