namespace DiskImage;

/// <summary>Base of every error the library reports about images, options or the files behind them.</summary>
/// <remarks>Messages are one line, fit for showing to a user as they are.</remarks>
public class DiskImageException : Exception
{
    /// <summary>Creates the exception with a general message.</summary>
    public DiskImageException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public DiskImageException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public DiskImageException(string message, Exception innerException) : base(message, innerException) { }

    private string? _context;
    private List<string>? _earlierErrors;

    /// <summary>
    /// Errors reported before this one, each a line of its own (QEMU reports some failures as their cause first and
    /// then the operation that failed, with the cause's errno). Empty for most errors.
    /// </summary>
    public IReadOnlyList<string> EarlierErrors => (IReadOnlyList<string>?)_earlierErrors ?? [];

    /// <summary>Records a line reported before this error.</summary>
    internal void AddEarlierError(string line) => (_earlierErrors ??= []).Add(line);

    /// <summary>The message, led by what was being done when it happened (<c>Could not open 'disk.qcow2': ...</c>, as qemu-img says).</summary>
    public override string Message => _context is null ? base.Message : _context + base.Message;

    /// <summary>What was put in front of the message, if anything.</summary>
    internal string? Context => _context;

    /// <summary>Puts <paramref name="context"/> in front of the message, keeping the exception's type for callers that tell errors apart.</summary>
    internal void PrependContext(string context) => _context = context + _context;

    /// <summary>Replaces whatever context the message carries (a caller that names the failure its own way).</summary>
    internal void ReplaceContext(string context) => _context = context;
}
