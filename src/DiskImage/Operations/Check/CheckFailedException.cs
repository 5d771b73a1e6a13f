namespace DiskImage.Operations.Check;

/// <summary>A check that could not complete (qemu-img: "Check failed: ..."); carries what was found so far.</summary>
public sealed class CheckFailedException : DiskImageException
{
    /// <summary>Creates the exception with what the check found before it failed.</summary>
    /// <param name="message">qemu-img's words after "Check failed: ".</param>
    /// <param name="partial">Tallies and messages gathered so far.</param>
    public CheckFailedException(string message, CheckCounts partial)
        : base(message) => Partial = partial;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public CheckFailedException(string message)
        : base(message) => Partial = new CheckCounts();

    /// <summary>Creates the exception with a general message.</summary>
    public CheckFailedException()
        : this("Check failed")
    {
    }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public CheckFailedException(string message, Exception innerException)
        : base(message, innerException) => Partial = new CheckCounts();

    /// <summary>Creates the exception with what the check found and the error that stopped it.</summary>
    /// <param name="message">qemu-img's words after "Check failed: ".</param>
    /// <param name="partial">Tallies and messages gathered so far.</param>
    /// <param name="error">The error qemu-img reports with its name before the failure line (it may end in a hint line).</param>
    public CheckFailedException(string message, CheckCounts partial, string error)
        : base(message)
    {
        Partial = partial;
        Error = error;
    }

    /// <summary>The error qemu-img prints, prefixed with its name, before "Check failed: ..."; null when none.</summary>
    public string? Error { get; }

    /// <summary>Tallies and messages gathered before the failure.</summary>
    public CheckCounts Partial { get; }
}
