namespace DiskImage.IO.Nfs;

/// <summary>
/// A failure on the way to or from an NFS server: a broken or hostile answer, a lost connection, a refusal. The
/// message is the client's one-line account (in libnfs's words where QEMU shows them); the storage wraps it in
/// QEMU's prefix for the step that failed.
/// </summary>
internal sealed class NfsProtocolException : IOException
{
    public NfsProtocolException(string message) : base(message) { }

    public NfsProtocolException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The negative errno the failure stands for (libnfs's return code), for the error text QEMU prints.</summary>
    public int Errno { get; init; } = -5;
}
