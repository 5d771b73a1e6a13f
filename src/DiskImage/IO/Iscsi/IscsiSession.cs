using System.Net.Sockets;

namespace DiskImage.IO.Iscsi;

/// <summary>
/// One logged-in iSCSI session over TCP, one command at a time: SCSI Command, then Data-In (status in the final one),
/// R2T answered with Data-Out, or SCSI Response with sense data; NOP-Ins from the target are answered in between.
/// Every reply is checked against the command it belongs to (task tag, offsets inside the buffer, lengths within
/// the negotiated limits) and the socket times out, so a broken target gives one error line, never a hang.
/// </summary>
internal sealed class IscsiSession : IDisposable
{
    private const uint NoTag = 0xffffffff;

    /// <summary>The socket timeout when QEMU's <c>timeout</c> option is 0 (libiscsi then waits for ever; this does not).</summary>
    private const int DefaultTimeoutSeconds = 60;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly byte[] _lun;
    private IscsiNegotiated _negotiated = new();
    private uint _cmdSN;
    private uint _expStatSN;
    private uint _nextTag = 0x100;
    private bool _loggedIn;

    private IscsiSession(Socket socket, int lun)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _lun = EncodeLun(lun);
    }

    /// <summary>
    /// Connects, logs in and checks the LUN answers (TEST UNIT READY, retried over unit attentions), as libiscsi's full
    /// connect; failures are <see cref="IscsiProtocolException"/>s in its words.
    /// </summary>
    public static IscsiSession Connect(IscsiTarget target)
    {
        if (target.Transport == "iser")
        {
            // iSER needs RDMA, which this library has no transport for: libiscsi's failure without an RDMA device.
            throw new IscsiProtocolException("Failed to start full connect Couldn't connect transport: Failed creating Event Channel\n");
        }

        var (host, port) = target.Endpoint();
        var socket = Open(host, port, target.TimeoutSeconds > 0 ? target.TimeoutSeconds : DefaultTimeoutSeconds);
        var session = new IscsiSession(socket, target.Lun);
        try
        {
            if (target.TargetName.Length == 0)
            {
                throw new IscsiProtocolException("iscsi_login_async failed: Trying normal connect but target name not set.");
            }

            var login = new IscsiLogin(target, session.Exchange);
            session._negotiated = login.Run();
            session._cmdSN = login.CmdSN;
            session._expStatSN = login.ExpStatSN;
            session._loggedIn = true;
            for (var attempt = 0; ; attempt++)
            {
                var ready = session.Execute(ScsiCdb.TestUnitReady(), 0, []);
                if (ready.IsGood || (ready.Sense is { Key: ScsiSense.UnitAttention } && attempt < 8))
                {
                    if (ready.IsGood)
                    {
                        break;
                    }

                    continue;
                }

                throw new IscsiProtocolException(ready.Error);
            }

            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The negotiated parameters.</summary>
    public IscsiNegotiated Negotiated => _negotiated;

    private static Socket Open(string host, int port, int timeoutSeconds)
    {
        System.Net.IPAddress[] addresses;
        try
        {
            addresses = System.Net.IPAddress.TryParse(host, out var literal) ? [literal] : System.Net.Dns.GetHostAddresses(host);
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            addresses = [];
        }

        if (addresses.Length == 0)
        {
            throw new IscsiProtocolException($"Failed to start full connect Invalid target:{host}  Can not resolv into IPv4/v6.");
        }

        var milliseconds = (int)Math.Min(timeoutSeconds * 1000L, int.MaxValue);
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            {
                NoDelay = true,
                ReceiveTimeout = milliseconds,
                SendTimeout = milliseconds,
            };
            try
            {
                if (port == 0 || !socket.ConnectAsync(address, port).Wait(milliseconds))
                {
                    throw new SocketException((int)SocketError.TimedOut);
                }

                return socket;
            }
            catch (Exception e) when (e is SocketException or AggregateException)
            {
                socket.Dispose();
            }
        }

        // libiscsi's words when the connection is refused or times out.
        throw new IscsiProtocolException("iscsi_service failed with : iscsi_service_reconnect_if_loggedin. Can not reconnect right now.\n");
    }

    /// <summary>Sends a PDU and reads the reply (login only: nothing else arrives before the session exists).</summary>
    private IscsiPdu Exchange(IscsiPdu request)
    {
        Send(request);
        return Receive();
    }

    /// <summary>
    /// Runs one command: <paramref name="dataIn"/> bytes expected back, or <paramref name="dataOut"/> sent (immediate
    /// data as far as the target takes it, the rest as R2Ts ask). A CHECK CONDITION is a result, not an exception.
    /// </summary>
    public ScsiResult Execute(byte[] cdb, int dataIn, ReadOnlySpan<byte> dataOut)
    {
        var tag = _nextTag++;
        if (_nextTag == NoTag)
        {
            _nextTag = 0x100;
        }

        var command = new IscsiPdu(IscsiOpcode.ScsiCommand)
        {
            Flags = (byte)(0x80 | (dataIn > 0 ? 0x40 : 0) | (dataOut.Length > 0 ? 0x20 : 0) | 0x01),
            InitiatorTaskTag = tag,
        };
        _lun.CopyTo(command.Header, 8);
        command.SetUInt32(20, (uint)Math.Max(dataIn, dataOut.Length));
        command.SetUInt32(24, _cmdSN++);
        command.SetUInt32(28, _expStatSN);
        cdb.CopyTo(command.Header, 32);
        if (dataOut.Length > 0 && _negotiated.ImmediateData)
        {
            var immediate = Math.Min(dataOut.Length, Math.Min(_negotiated.FirstBurstLength, _negotiated.TargetMaxRecvDataSegmentLength));
            command.Data = dataOut[..immediate].ToArray();
        }

        Send(command);
        var buffer = new byte[dataIn];
        var received = 0;
        // Each PDU carries data, or moves the command on; a target that sends more than this is not answering.
        var budget = 4096 + (dataIn / 512) + (dataOut.Length / 512);
        while (budget-- > 0)
        {
            var reply = Receive();
            switch (reply.Opcode)
            {
                case IscsiOpcode.NopIn:
                    AnswerNop(reply);
                    continue;
                case IscsiOpcode.AsyncMessage:
                    _expStatSN = reply.UInt32(24) + 1;
                    continue;
                case IscsiOpcode.Reject:
                    throw new IscsiProtocolException("Target rejected a command");
                case IscsiOpcode.DataIn:
                    CheckTag(reply, tag);
                    var offset = reply.UInt32(40);
                    if (offset > (uint)buffer.Length || reply.Data.Length > buffer.Length - (int)offset)
                    {
                        throw new IscsiProtocolException("Target sent Data-In outside the buffer");
                    }

                    reply.Data.CopyTo(buffer, (int)offset);
                    received = Math.Max(received, (int)offset + reply.Data.Length);
                    if ((reply.Flags & 0x01) != 0)
                    {
                        _expStatSN = reply.UInt32(24) + 1;
                        return new ScsiResult(reply.Header[3], null, buffer[..received]);
                    }

                    continue;
                case IscsiOpcode.ReadyToTransfer:
                    CheckTag(reply, tag);
                    SendData(reply, dataOut);
                    continue;
                case IscsiOpcode.ScsiResponse:
                    CheckTag(reply, tag);
                    if (reply.Header[2] != 0)
                    {
                        throw new IscsiProtocolException($"Target failed the command (response 0x{reply.Header[2]:x2})");
                    }

                    _expStatSN = reply.UInt32(24) + 1;
                    var status = reply.Header[3];
                    var sense = status == ScsiResult.CheckCondition ? ScsiSense.FromResponseData(reply.Data) : null;
                    return new ScsiResult(status, sense, buffer[..received]);
                default:
                    throw new IscsiProtocolException($"Target sent an unexpected PDU (opcode 0x{(int)reply.Opcode:x2})");
            }
        }

        throw new IscsiProtocolException("Target never completed a command");
    }

    /// <summary>Answers an R2T: the range it asks for, inside the data and the burst limit, in Data-Out PDUs the target can take.</summary>
    private void SendData(IscsiPdu r2t, ReadOnlySpan<byte> data)
    {
        var offset = r2t.UInt32(40);
        var length = r2t.UInt32(44);
        if (length == 0 || length > (uint)_negotiated.MaxBurstLength || offset > (uint)data.Length || length > (uint)data.Length - offset)
        {
            throw new IscsiProtocolException("Target asked for data outside the command");
        }

        var transferTag = r2t.UInt32(20);
        var position = (int)offset;
        var end = (int)(offset + length);
        uint dataSN = 0;
        while (position < end)
        {
            var count = Math.Min(end - position, _negotiated.TargetMaxRecvDataSegmentLength);
            var pdu = new IscsiPdu(IscsiOpcode.DataOut)
            {
                Flags = (byte)(position + count == end ? 0x80 : 0),
                InitiatorTaskTag = r2t.InitiatorTaskTag,
                Data = data.Slice(position, count).ToArray(),
            };
            _lun.CopyTo(pdu.Header, 8);
            pdu.SetUInt32(20, transferTag);
            pdu.SetUInt32(28, _expStatSN);
            pdu.SetUInt32(36, dataSN++);
            pdu.SetUInt32(40, (uint)position);
            Send(pdu);
            position += count;
        }
    }

    /// <summary>A NOP-In that asks for an answer (a target transfer tag) gets a NOP-Out echoing it; others need none.</summary>
    private void AnswerNop(IscsiPdu nop)
    {
        var transferTag = nop.UInt32(20);
        if (transferTag == NoTag)
        {
            return;
        }

        var answer = new IscsiPdu(IscsiOpcode.NopOut, immediate: true)
        {
            Flags = 0x80,
            InitiatorTaskTag = NoTag,
            Data = nop.Data,
        };
        nop.Header.AsSpan(8, 8).CopyTo(answer.Header.AsSpan(8));
        answer.SetUInt32(20, transferTag);
        answer.SetUInt32(24, _cmdSN);
        answer.SetUInt32(28, _expStatSN);
        Send(answer);
    }

    private static void CheckTag(IscsiPdu reply, uint tag)
    {
        if (reply.InitiatorTaskTag != tag)
        {
            throw new IscsiProtocolException("Target answered a command that was not sent");
        }
    }

    private void Send(IscsiPdu pdu)
    {
        try
        {
            _stream.Write(pdu.Encode(_negotiated.HeaderDigest));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            throw Lost();
        }
    }

    private IscsiPdu Receive()
    {
        try
        {
            return IscsiPdu.Read(_stream, _negotiated.HeaderDigest, IscsiNegotiated.OurMaxRecvDataSegmentLength);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            throw Lost();
        }
    }

    private static IscsiProtocolException Lost() => new("Connection to the target was lost or timed out");

    /// <summary>SAM's LUN field: peripheral addressing below 256, flat space up to 16383.</summary>
    private static byte[] EncodeLun(int lun)
    {
        var field = new byte[8];
        if (lun is >= 0 and < 256)
        {
            field[1] = (byte)lun;
        }
        else
        {
            field[0] = (byte)(0x40 | ((lun >> 8) & 0x3f));
            field[1] = (byte)lun;
        }

        return field;
    }

    /// <summary>Logs out (reason: close the session) and closes the connection; a target gone by then changes nothing.</summary>
    public void Dispose()
    {
        if (_loggedIn)
        {
            _loggedIn = false;
            try
            {
                var logout = new IscsiPdu(IscsiOpcode.LogoutRequest, immediate: true) { Flags = 0x80, InitiatorTaskTag = _nextTag++ };
                logout.SetUInt32(24, _cmdSN);
                logout.SetUInt32(28, _expStatSN);
                _socket.ReceiveTimeout = 5000;
                Send(logout);
                for (var i = 0; i < 16 && Receive().Opcode != IscsiOpcode.LogoutResponse; i++)
                {
                }
            }
            catch (IscsiProtocolException)
            {
                // The session ends with the connection either way.
            }
        }

        _stream.Dispose();
        _socket.Dispose();
    }
}
