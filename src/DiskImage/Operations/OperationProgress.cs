namespace DiskImage.Operations;

/// <summary>
/// How far a long operation has got; every operation that takes an <see cref="IProgress{T}"/> reports this type.
/// <see cref="Completed"/> and <see cref="Total"/> count the operation's own unit of work, named where the operation
/// is documented (bytes for copies, comparisons and measurements); <see cref="Percent"/> is what to show.
/// </summary>
/// <param name="Completed">Units done so far, from 0 to <paramref name="Total"/>.</param>
/// <param name="Total">Units the whole operation does (0 when there is nothing to do).</param>
public readonly record struct OperationProgress(long Completed, long Total)
{
    /// <summary>Completion from 0 to 100; 100 when there is nothing to do.</summary>
    public double Percent => Total <= 0 ? 100 : Math.Clamp(Completed * 100.0 / Total, 0, 100);
}
