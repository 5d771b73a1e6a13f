namespace DiskImage.Operations.Check;

/// <summary>A check that could not complete (qemu-img: "Check failed: ..."); carries what was found so far.</summary>
public sealed class CheckFailedException : DiskImageException
{
    public CheckFailedException(string message, CheckCounts partial)
        : base(message) => Partial = partial;

    public CheckFailedException(string message)
        : base(message) => Partial = new CheckCounts();

    public CheckFailedException()
        : this("Check failed")
    {
    }

    public CheckFailedException(string message, Exception innerException)
        : base(message, innerException) => Partial = new CheckCounts();

    /// <summary>Tallies and messages gathered before the failure.</summary>
    public CheckCounts Partial { get; }
}
