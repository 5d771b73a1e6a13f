namespace DiskImage;

/// <summary>Base of every error the library reports about images, options or the files behind them.</summary>
/// <remarks>Messages are one line, fit for showing to a user as they are.</remarks>
public class DiskImageException : Exception
{
    public DiskImageException() { }

    public DiskImageException(string message) : base(message) { }

    public DiskImageException(string message, Exception innerException) : base(message, innerException) { }

    private string? _context;

    /// <summary>The message, led by what was being done when it happened (<c>Could not open 'disk.qcow2': ...</c>, as qemu-img says).</summary>
    public override string Message => _context is null ? base.Message : _context + base.Message;

    /// <summary>Puts <paramref name="context"/> in front of the message, keeping the exception's type for callers that tell errors apart.</summary>
    internal void PrependContext(string context) => _context = context + _context;

    /// <summary>Replaces whatever context the message carries (a caller that names the failure its own way).</summary>
    internal void ReplaceContext(string context) => _context = context;
}
