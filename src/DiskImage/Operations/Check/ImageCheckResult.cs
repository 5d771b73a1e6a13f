namespace DiskImage.Operations.Check;

/// <summary>
/// What <c>qemu-img check</c> reports: the final pass, plus, after a repair, the repairing pass and the
/// numbers it fixed (qemu-img double-checks a repaired image and reports the fresh pass).
/// </summary>
public sealed record ImageCheckResult(string Filename, string Format, CheckCounts Final, CheckCounts? Repair)
{
    /// <summary>Leaks the repairing pass fixed (qemu-img's <c>leaks-fixed</c>).</summary>
    public long LeaksFixed => Repair?.LeaksFixed ?? Final.LeaksFixed;

    /// <summary>Corruptions the repairing pass fixed (qemu-img's <c>corruptions-fixed</c>).</summary>
    public long CorruptionsFixed => Repair?.CorruptionsFixed ?? Final.CorruptionsFixed;

    /// <summary>qemu-img's exit code: 1 check errors, 2 corruptions, 3 leaks only, 0 clean.</summary>
    public int ExitCode => Final.CheckErrors != 0 ? 1 : Final.Corruptions != 0 ? 2 : Final.Leaks != 0 ? 3 : 0;
}
