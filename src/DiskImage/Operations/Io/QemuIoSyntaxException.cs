namespace DiskImage.Operations.Io;

/// <summary>A qemu-io command line that cannot be run; <see cref="ToStandardOutput"/> tells where qemu-io prints the message.</summary>
public sealed class QemuIoSyntaxException : InvalidOptionException
{
    public QemuIoSyntaxException() { }

    public QemuIoSyntaxException(string message) : base(message) { }

    public QemuIoSyntaxException(string message, Exception innerException) : base(message, innerException) { }

    public QemuIoSyntaxException(string message, bool toStandardOutput) : base(message) => ToStandardOutput = toStandardOutput;

    /// <summary>qemu-io prints some complaints with the command's output rather than as errors.</summary>
    public bool ToStandardOutput { get; }
}
