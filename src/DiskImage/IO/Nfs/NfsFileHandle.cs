namespace DiskImage.IO.Nfs;

/// <summary>An NFS v3 file handle (RFC 1813 <c>nfs_fh3</c>): opaque bytes, at most 64 of them.</summary>
internal sealed class NfsFileHandle
{
    /// <summary>NFS3_FHSIZE: the most a server may send.</summary>
    public const int MaxSize = 64;

    private readonly byte[] _bytes;

    private NfsFileHandle(byte[] bytes) => _bytes = bytes;

    /// <summary>Reads a handle, refusing one longer than <see cref="MaxSize"/>.</summary>
    public static NfsFileHandle Read(XdrReader reader) => new(reader.Opaque(MaxSize).ToArray());

    /// <summary>Writes the handle as the <c>nfs_fh3</c> argument of a call.</summary>
    public void Write(XdrWriter writer) => writer.Opaque(_bytes);
}
