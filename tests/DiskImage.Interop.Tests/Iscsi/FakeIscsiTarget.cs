using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace DiskImage.Interop.Tests.Iscsi;

/// <summary>
/// A minimal iSCSI target in the test process for the fuzzer: one 1 MiB LUN of 512-byte blocks that logs anyone in
/// and answers what the initiator asks at open (INQUIRY and its VPD pages, MODE SENSE, READ CAPACITY(16) with
/// provisioning), READ (in two Data-In PDUs, after a NOP-In that wants an answer), WRITE (immediate data, then R2Ts),
/// SYNCHRONIZE CACHE, UNMAP, WRITE SAME, GET LBA STATUS and logout. Every PDU it sends goes through <see cref="Mutate"/>
/// first, so a test can break any one of them. A connection idle for a moment is closed, so an initiator that waits
/// for bytes a broken PDU promised meets the end of the stream instead of its own timeout.
/// </summary>
internal sealed class FakeIscsiTarget : IDisposable
{
    private const int BlockSize = 512;
    private const int Blocks = 2048;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Thread _thread;
    private readonly byte[] _store = new byte[Blocks * BlockSize];
    private volatile bool _stopping;
    private int _sent;

    public FakeIscsiTarget()
    {
        _listener.Start();
        _thread = new Thread(Serve) { IsBackground = true };
        _thread.Start();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Changes the bytes of the PDU sent as number <c>index</c> (counted from 0 since the last <see cref="Reset"/>).</summary>
    public Func<int, byte[], byte[]> Mutate { get; set; } = (_, bytes) => bytes;

    /// <summary>How long a connection may stay silent before this target closes it.</summary>
    public int IdleMilliseconds { get; set; } = 300;

    /// <summary>How many PDUs were sent since the last <see cref="Reset"/>.</summary>
    public int Sent => _sent;

    public void Reset() => _sent = 0;

    private void Serve()
    {
        while (!_stopping)
        {
            try
            {
                using var client = _listener.AcceptTcpClient();
                client.ReceiveTimeout = IdleMilliseconds;
                client.NoDelay = true;
                Converse(client.GetStream());
            }
            catch (Exception e) when (!_stopping)
            {
                // The initiator went away, sent what this target does not take, or the idle limit passed: next connection.
                _ = e;
            }
            catch (Exception)
            {
                // Stopping.
                return;
            }
        }
    }

    private void Converse(NetworkStream stream)
    {
        uint statSN = 1;
        (uint Tag, byte[] Cdb, int Total, int Received, byte[] Data)? write = null;
        while (true)
        {
            var header = new byte[48];
            stream.ReadExactly(header);
            var length = (header[5] << 16) | (header[6] << 8) | header[7];
            var data = new byte[(length + 3) & ~3];
            stream.ReadExactly(data);
            data = data[..length];
            var tag = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16));
            switch (header[0] & 0x3f)
            {
                case 0x03:
                    var stage = (header[1] >> 2) & 3;
                    var keys = stage == 0 ? "AuthMethod=None\0" : "HeaderDigest=None\0DataDigest=None\0MaxRecvDataSegmentLength=8192\0ImmediateData=Yes\0InitialR2T=Yes\0MaxBurstLength=65536\0FirstBurstLength=8192\0";
                    var login = Pdu(0x23, (byte)(0x80 | (stage << 2) | (stage == 0 ? 1 : 3)), tag, Encoding.ASCII.GetBytes(keys));
                    header.AsSpan(8, 6).CopyTo(login.AsSpan(8));
                    Status(login, statSN++);
                    Send(stream, login);
                    break;
                case 0x01:
                    var cdb = header[32..48];
                    if (cdb[0] is 0x2a or 0x8a)
                    {
                        var total = (int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(20));
                        write = (tag, cdb, total, data.Length, data);
                        if (data.Length < total)
                        {
                            Send(stream, R2T(tag, data.Length, Math.Min(total - data.Length, 65536), statSN));
                        }
                        else
                        {
                            Send(stream, Response(tag, statSN++, 0, []));
                        }

                        break;
                    }

                    Command(stream, tag, cdb, ref statSN);
                    break;
                case 0x05 when write is { } pending:
                    var received = pending.Received + data.Length;
                    write = pending with { Received = received };
                    if ((header[1] & 0x80) != 0)
                    {
                        Send(stream, received < pending.Total
                            ? R2T(pending.Tag, received, Math.Min(pending.Total - received, 65536), statSN)
                            : Response(pending.Tag, statSN++, 0, []));
                    }

                    break;
                case 0x06:
                    var logout = Pdu(0x26, 0x80, tag, []);
                    Status(logout, statSN++);
                    Send(stream, logout);
                    return;
            }
        }
    }

    private void Command(NetworkStream stream, uint tag, byte[] cdb, ref uint statSN)
    {
        byte[]? answer = cdb[0] switch
        {
            0x00 or 0x35 or 0x42 or 0x93 => [],
            0x12 when (cdb[1] & 1) == 0 => [0, 0, 5, 2, 31, 0, 0, 0, .. new byte[28]],
            0x12 when cdb[2] == 0x00 => [0, 0, 0, 3, 0x00, 0xb0, 0xb2],
            0x12 when cdb[2] == 0xb0 => [0, 0xb0, 0, 60, 0, 0, 0, 0, 0, 0, 0, 64, .. new byte[52]],
            0x12 when cdb[2] == 0xb2 => [0, 0xb2, 0, 4, 0, 0xc0, 0, 0],
            0x1a => [3, 0, 0, 0],
            0x9e when (cdb[1] & 0x1f) == 0x10 => [0, 0, 0, 0, 0, 0, (Blocks - 1) >> 8, (Blocks - 1) & 0xff, 0, 0, 2, 0, 0, 0, 0xc0, 0, .. new byte[16]],
            0x9e when (cdb[1] & 0x1f) == 0x12 => [0, 0, 0, 20, 0, 0, 0, 0, .. cdb[2..10], 0, 0, 0, 16, 1, 0, 0, 0],
            0x28 or 0x88 => Read(cdb),
            _ => null,
        };
        if (answer is null)
        {
            Send(stream, Response(tag, statSN++, 2, [0, 18, 0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0]));
            return;
        }

        if (answer.Length == 0)
        {
            Send(stream, Response(tag, statSN++, 0, []));
            return;
        }

        if (cdb[0] is 0x28 or 0x88)
        {
            var nop = Pdu(0x20, 0x80, 0xffffffff, []);
            BinaryPrimitives.WriteUInt32BigEndian(nop.AsSpan(20), 0x1234);
            Status(nop, statSN);
            Send(stream, nop);
        }

        // Two Data-In PDUs: the first without status, the second with it.
        var half = answer.Length / 2 & ~3;
        if (half > 0)
        {
            Send(stream, DataIn(tag, answer[..half], 0, final: false, statSN));
        }

        Send(stream, DataIn(tag, answer[half..], half, final: true, statSN++));
    }

    private byte[] Read(byte[] cdb)
    {
        var (lba, count) = cdb[0] == 0x28
            ? ((long)BinaryPrimitives.ReadUInt32BigEndian(cdb.AsSpan(2)), BinaryPrimitives.ReadUInt16BigEndian(cdb.AsSpan(7)))
            : ((long)BinaryPrimitives.ReadUInt64BigEndian(cdb.AsSpan(2)), (int)BinaryPrimitives.ReadUInt32BigEndian(cdb.AsSpan(10)));
        var start = (int)Math.Min(lba * BlockSize, _store.Length);
        var end = (int)Math.Min(start + ((long)count * BlockSize), _store.Length);
        return _store[start..end];
    }

    private static byte[] Pdu(byte opcode, byte flags, uint tag, byte[] data)
    {
        var pdu = new byte[48 + ((data.Length + 3) & ~3)];
        pdu[0] = opcode;
        pdu[1] = flags;
        pdu[5] = (byte)(data.Length >> 16);
        pdu[6] = (byte)(data.Length >> 8);
        pdu[7] = (byte)data.Length;
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(16), tag);
        data.CopyTo(pdu, 48);
        return pdu;
    }

    private static void Status(byte[] pdu, uint statSN)
    {
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(24), statSN);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(28), 1);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(32), 64);
    }

    private static byte[] Response(uint tag, uint statSN, byte status, byte[] sense)
    {
        var pdu = Pdu(0x21, 0x80, tag, sense);
        pdu[3] = status;
        Status(pdu, statSN);
        return pdu;
    }

    private static byte[] DataIn(uint tag, byte[] data, int offset, bool final, uint statSN)
    {
        var pdu = Pdu(0x25, (byte)(final ? 0x81 : 0), tag, data);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(20), 0xffffffff);
        Status(pdu, statSN);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(40), (uint)offset);
        return pdu;
    }

    private static byte[] R2T(uint tag, int offset, int length, uint statSN)
    {
        var pdu = Pdu(0x31, 0x80, tag, []);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(20), 0x77);
        Status(pdu, statSN);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(40), (uint)offset);
        BinaryPrimitives.WriteUInt32BigEndian(pdu.AsSpan(44), (uint)length);
        return pdu;
    }

    private void Send(NetworkStream stream, byte[] pdu) => stream.Write(Mutate(_sent++, pdu));

    public void Dispose()
    {
        _stopping = true;
        _listener.Stop();
        _thread.Join(2000);
    }
}
