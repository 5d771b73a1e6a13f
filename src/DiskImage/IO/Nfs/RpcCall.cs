using System.Text;

namespace DiskImage.IO.Nfs;

/// <summary>
/// The call header of an ONC RPC message (RFC 5531): transaction id, CALL, RPC version 2, program, version and
/// procedure, then AUTH_SYS credentials (RFC 5531 appendix A: stamp, machine name, uid, gid, no extra groups) and an
/// empty verifier. The procedure's arguments follow in the same writer.
/// </summary>
internal static class RpcCall
{
    private const uint Call = 0;
    private const uint RpcVersion = 2;
    private const uint AuthNone = 0;
    private const uint AuthSys = 1;

    /// <summary>A writer holding the call header; the caller appends the arguments.</summary>
    public static XdrWriter Begin(uint xid, uint program, uint version, uint procedure, RpcCredentials credentials)
    {
        var body = new XdrWriter()
            .UInt32(0)
            .String(credentials.MachineName)
            .UInt32(credentials.Uid)
            .UInt32(credentials.Gid)
            .UInt32(0);
        return new XdrWriter()
            .UInt32(xid)
            .UInt32(Call)
            .UInt32(RpcVersion)
            .UInt32(program)
            .UInt32(version)
            .UInt32(procedure)
            .UInt32(AuthSys)
            .Opaque(body.Written)
            .UInt32(AuthNone)
            .UInt32(0);
    }
}

/// <summary>
/// Who the calls are made as (AUTH_SYS): QEMU's <c>user</c>/<c>group</c> options, else the process's own ids; and how
/// the connections are made (<see cref="SynCount"/>).
/// </summary>
internal sealed record RpcCredentials(uint Uid, uint Gid, string MachineName)
{
    /// <summary>QEMU's <c>tcp-syn-count</c>: the kernel's SYN retries for each connection; null leaves the system's.</summary>
    public int? SynCount { get; init; }

    /// <summary>The machine name is bounded by AUTH_SYS's 255 bytes.</summary>
    public static RpcCredentials For(uint uid, uint gid)
    {
        var name = Environment.MachineName;
        while (Encoding.UTF8.GetByteCount(name) > 255)
        {
            name = name[..^1];
        }

        return new RpcCredentials(uid, gid, name);
    }
}
