namespace DiskImage.Operations.Check;

/// <summary>What <c>check -r</c> may repair.</summary>
[Flags]
public enum CheckRepair
{
    /// <summary>Only report.</summary>
    None = 0,

    /// <summary><c>-r leaks</c>: free clusters whose refcount is higher than their references.</summary>
    Leaks = 1,

    /// <summary>Fix refcounts that are too low, OFLAG_COPIED flags and the refcount structure.</summary>
    Errors = 2,

    /// <summary><c>-r all</c>.</summary>
    All = Leaks | Errors,
}
