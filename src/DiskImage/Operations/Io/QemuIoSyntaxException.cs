namespace DiskImage.Operations.Io;

/// <summary>A qemu-io command line that cannot be run; <see cref="ToStandardOutput"/> tells where qemu-io prints the message.</summary>
public sealed class QemuIoSyntaxException : InvalidOptionException
{
    /// <summary>Creates the exception with a general message.</summary>
    public QemuIoSyntaxException() { }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    public QemuIoSyntaxException(string message) : base(message) { }

    /// <summary>Creates the exception around the failure that caused it.</summary>
    /// <param name="message">One line, in qemu-img's wording where qemu-img has one.</param>
    /// <param name="innerException">The underlying failure.</param>
    public QemuIoSyntaxException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception, saying where qemu-io prints the message.</summary>
    /// <param name="message">qemu-io's line.</param>
    /// <param name="toStandardOutput">Print it with the command's output rather than as an error.</param>
    public QemuIoSyntaxException(string message, bool toStandardOutput) : base(message) => ToStandardOutput = toStandardOutput;

    /// <summary>qemu-io prints some complaints with the command's output rather than as errors.</summary>
    public bool ToStandardOutput { get; }
}
