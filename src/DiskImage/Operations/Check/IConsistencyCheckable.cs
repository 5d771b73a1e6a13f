namespace DiskImage.Operations.Check;

/// <summary>A format other than qcow2 whose images <c>qemu-img check</c> can check.</summary>
internal interface IConsistencyCheckable
{
    /// <summary>Whether <c>-r leaks</c> or <c>-r all</c> is offered.</summary>
    bool CanRepair { get; }

    /// <summary>One check pass; diagnostics go into the returned counts' messages.</summary>
    CheckCounts Check(CheckRepair repair);
}
