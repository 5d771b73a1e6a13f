using System.Net;

namespace DiskImage.IO.Nfs;

/// <summary>
/// The NFS v3 calls the driver makes (RFC 1813) on one connection to the server's NFS program: each call's result
/// read in full and checked (a handle at most 64 bytes, a READ no longer than asked, data as long as its count).
/// A status other than NFS3_OK becomes <see cref="NfsProtocolException"/> with libnfs's line for it.
/// </summary>
internal sealed partial class Nfs3Client : IDisposable
{
    private const uint Program = 100003;
    private const uint Version = 3;
    private const uint GetAttrProc = 1;
    private const uint SetAttrProc = 2;
    private const uint LookupProc = 3;
    private const uint AccessProc = 4;
    private const uint ReadLinkProc = 5;
    private const uint ReadProc = 6;
    private const uint WriteProc = 7;
    private const uint CreateProc = 8;
    private const uint FsInfoProc = 19;
    private const uint CommitProc = 21;
    private const int MaxNameLength = 255;
    private const int MaxPathLength = 4096;

    private readonly RpcConnection? _connection;
    private readonly Func<uint, Action<XdrWriter>, XdrReader> _call;

    private Nfs3Client(RpcConnection connection)
    {
        _connection = connection;
        _call = (procedure, arguments) => connection.Call(Program, Version, procedure, arguments);
    }

    /// <summary>A client whose calls <paramref name="call"/> answers (a procedure number and its arguments in, the results out): the replies' decoder without a server.</summary>
    internal Nfs3Client(Func<uint, Action<XdrWriter>, XdrReader> call) => _call = call;

    /// <summary>Connects to the NFS v3 program on <paramref name="address"/> through its portmapper.</summary>
    public static Nfs3Client Connect(IPAddress address, string host, RpcCredentials credentials)
    {
        var port = Portmapper.GetTcpPort(address, host, Program, Version, credentials);
        return new Nfs3Client(RpcConnection.Connect(address, port, credentials));
    }

    /// <summary>The largest read and write the server takes (FSINFO's rtmax and wtmax), within libnfs's bounds.</summary>
    public (int ReadMax, int WriteMax) FsInfo(NfsFileHandle root, string export)
    {
        var reply = Call(FsInfoProc, root.Write);
        var status = reply.UInt32();
        NfsAttributes.ReadOptional(reply);
        if (status != 0)
        {
            throw Failure($"NFS: FSINFO of {export} failed with", status);
        }

        var readMax = reply.UInt32();
        reply.Skip(8);
        var writeMax = reply.UInt32();
        return (Transfer(readMax, "rsize"), Transfer(writeMax, "wsize"));
    }

    /// <summary>The handle of <paramref name="name"/> in <paramref name="directory"/>.</summary>
    public NfsFileHandle Lookup(NfsFileHandle directory, string name, string shownPath) => LookupWithType(directory, name, shownPath).Handle;

    /// <summary>The handle of <paramref name="name"/> in <paramref name="directory"/> and its file type, when the server sent its attributes.</summary>
    public (NfsFileHandle Handle, uint? Type) LookupWithType(NfsFileHandle directory, string name, string shownPath)
    {
        var reply = Call(LookupProc, w =>
        {
            directory.Write(w);
            w.String(name);
        });
        var status = reply.UInt32();
        if (status != 0)
        {
            throw Failure($"NFS: Lookup of {shownPath} failed with", status);
        }

        var handle = NfsFileHandle.Read(reply);
        var attributes = NfsAttributes.ReadOptional(reply);
        NfsAttributes.ReadOptional(reply);
        return (handle, attributes?.Type);
    }

    /// <summary>The target of the symbolic link <paramref name="link"/>.</summary>
    public string ReadLink(NfsFileHandle link, string shownPath)
    {
        var reply = Call(ReadLinkProc, link.Write);
        var status = reply.UInt32();
        NfsAttributes.ReadOptional(reply);
        return status == 0 ? reply.String(MaxPathLength) : throw Failure($"NFS: READLINK of {shownPath} failed with", status);
    }

    /// <summary>The access bits the server grants of those asked (ACCESS3_READ 1, ACCESS3_MODIFY 4, ...).</summary>
    public uint Access(NfsFileHandle file, uint wanted, string shownPath)
    {
        var reply = Call(AccessProc, w =>
        {
            file.Write(w);
            w.UInt32(wanted);
        });
        var status = reply.UInt32();
        NfsAttributes.ReadOptional(reply);
        return status == 0 ? reply.UInt32() : throw Failure($"NFS: ACCESS of {shownPath} failed with", status);
    }

    /// <summary>The file's attributes.</summary>
    public NfsAttributes GetAttributes(NfsFileHandle file)
    {
        var reply = Call(GetAttrProc, file.Write);
        var status = reply.UInt32();
        return status == 0 ? NfsAttributes.Read(reply) : throw Failure("NFS: GETATTR failed with", status);
    }

    /// <summary>Reads up to <c>buffer.Length</c> bytes at <paramref name="offset"/>; returns the count and whether the file ends there.</summary>
    public (int Count, bool Eof) Read(NfsFileHandle file, long offset, Span<byte> buffer)
    {
        var asked = buffer.Length;
        var reply = Call(ReadProc, w =>
        {
            file.Write(w);
            w.UInt64((ulong)offset).UInt32((uint)asked);
        });
        var status = reply.UInt32();
        NfsAttributes.ReadOptional(reply);
        if (status != 0)
        {
            throw Failure("NFS: Read failed with", status);
        }

        var count = reply.UInt32();
        var eof = reply.Bool();
        var data = reply.Opaque(buffer.Length);
        if (count != (uint)data.Length)
        {
            throw XdrReader.Garbage($"READ count {count} for {data.Length} bytes of data");
        }

        data.Span.CopyTo(buffer);
        return (data.Length, eof);
    }

    /// <summary>Writes <paramref name="data"/> at <paramref name="offset"/> unstably (COMMIT makes it durable); returns the count the server took.</summary>
    public int Write(NfsFileHandle file, long offset, ReadOnlySpan<byte> data)
    {
        var payload = data.ToArray();
        var reply = Call(WriteProc, w =>
        {
            file.Write(w);
            w.UInt64((ulong)offset).UInt32((uint)payload.Length).UInt32(0).Opaque(payload);
        });
        var status = reply.UInt32();
        NfsAttributes.SkipWcc(reply);
        if (status != 0)
        {
            throw Failure("NFS: Write failed with", status);
        }

        var count = reply.UInt32();
        if (count == 0 || count > (uint)payload.Length)
        {
            throw new NfsProtocolException(count == 0 ? "NFS: Write failed. No bytes written!" : $"NFS: Write of {payload.Length} bytes answered with {count}");
        }

        return (int)count;
    }

    /// <summary>Makes every unstable write to the file durable.</summary>
    public void Commit(NfsFileHandle file)
    {
        var reply = Call(CommitProc, w =>
        {
            file.Write(w);
            w.UInt64(0).UInt32(0);
        });
        var status = reply.UInt32();
        NfsAttributes.SkipWcc(reply);
        if (status != 0)
        {
            throw Failure("NFS: Commit failed with", status);
        }
    }

    /// <summary>Sets the file's size.</summary>
    public void SetSize(NfsFileHandle file, long size)
    {
        var reply = Call(SetAttrProc, w =>
        {
            file.Write(w);
            w.Bool(false).Bool(false).Bool(false).Bool(true).UInt64((ulong)size).UInt32(0).UInt32(0);
            w.Bool(false);
        });
        var status = reply.UInt32();
        NfsAttributes.SkipWcc(reply);
        if (status != 0)
        {
            throw Failure("NFS: SETATTR failed with", status);
        }
    }

    /// <summary>Creates <paramref name="name"/> in <paramref name="directory"/> (UNCHECKED: an existing file is kept) with <paramref name="mode"/>.</summary>
    public NfsFileHandle Create(NfsFileHandle directory, string name, uint mode, string shownPath)
    {
        var reply = Call(CreateProc, w =>
        {
            directory.Write(w);
            w.String(name);
            w.UInt32(0);
            w.Bool(true).UInt32(mode).Bool(false).Bool(false).Bool(false).UInt32(0).UInt32(0);
        });
        var status = reply.UInt32();
        if (status != 0)
        {
            NfsAttributes.SkipWcc(reply);
            throw Failure($"NFS: CREATE of {shownPath} failed with", status);
        }

        // The handle is optional in the reply; without it the new file is looked up.
        return reply.Bool() ? NfsFileHandle.Read(reply) : Lookup(directory, name, shownPath);
    }

    public void Dispose() => _connection?.Dispose();

    private XdrReader Call(uint procedure, Action<XdrWriter> arguments) => _call(procedure, arguments);

    private static NfsProtocolException Failure(string what, uint status)
    {
        var (_, errno) = NfsStatus.Nfs(status);
        return new NfsProtocolException($"{what} {NfsStatus.Describe(status)}") { Errno = -errno };
    }

    /// <summary>libnfs takes transfers of at most 1 MiB and refuses a server offering less than 8 KiB.</summary>
    private static int Transfer(uint max, string what) => max switch
    {
        > 1 << 20 => 1 << 20,
        < 8192 => throw new NfsProtocolException($"server max {what} of {max}") { Errno = -22 },
        _ => (int)max,
    };

    /// <summary>Whether <paramref name="name"/> can be sent as one path component.</summary>
    public static bool IsComponent(string name) => name.Length is > 0 and <= MaxNameLength;
}
