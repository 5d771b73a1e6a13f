using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;

namespace DiskImage.Nbd.Client;

/// <summary>
/// The transmission phase of a client connection. Requests from any number of threads go out as soon as the
/// in-flight bounds allow; one receiver thread reads the replies in whatever order the server sends them,
/// matches them to their requests by cookie and reads each payload straight into the waiting caller's buffer.
/// A reply the client cannot account for (unknown cookie, a chunk outside the range asked for, a length past
/// its bound) fails the connection once: every caller gets that one error, none waits forever.
/// </summary>
internal sealed unsafe class NbdPipeline : IDisposable
{
    /// <summary>Requests in flight at once (qemu's nbd driver allows 16, nbdcopy 64).</summary>
    public const int MaxCallsInFlight = 64;

    /// <summary>Read and write bytes in flight at once; a larger single request is let through alone.</summary>
    public const long MaxBytesInFlight = 64L << 20;

    private const uint MaxStatusChunk = 1u << 24;
    private const uint MaxErrorChunk = 64 << 10;
    private const int SmallWrite = 64 << 10;

    private readonly object _gate = new();
    private readonly object _sendGate = new();
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly Stream _reader;
    private readonly bool _structured;
    private readonly uint? _baseAllocationId;
    private readonly Dictionary<ulong, NbdCall> _calls = [];
    private readonly byte[] _sendBuffer = new byte[28 + SmallWrite];
    private readonly byte[] _replyHeader = new byte[20];
    private readonly Thread _receiver;
    private ulong _nextCookie;
    private long _bytesInFlight;
    private int _windowWaiters;
    private string? _failure;
    private bool _failureIsProtocol;
    private bool _receiverExited;

    public NbdPipeline(Socket socket, Stream stream, bool structured, uint? baseAllocationId)
    {
        _socket = socket;
        _stream = stream;
        // Headers and small payloads come out of one buffer instead of one receive call each.
        _reader = new BufferedStream(stream, 64 << 10);
        _structured = structured;
        _baseAllocationId = baseAllocationId;
        _receiver = new Thread(Receive) { IsBackground = true, Name = "nbd-client-receiver" };
        _receiver.Start();
    }

    /// <summary>
    /// Sends <paramref name="calls"/> (as many in flight as the bounds allow) and returns when every one is
    /// answered. Read data lands in <paramref name="readBuffer"/> at each call's start; write data is taken
    /// from <paramref name="writeSource"/>. A request the server refused throws after all were answered.
    /// </summary>
    public void Execute(ReadOnlySpan<NbdCall> calls, Span<byte> readBuffer, ReadOnlySpan<byte> writeSource)
    {
        foreach (var call in calls)
        {
            var source = call.Command == NbdCommand.Write ? writeSource.Length : call.Command == NbdCommand.Read ? readBuffer.Length : int.MaxValue;
            if (call.BufferStart < 0 || call.Length > (uint)(source - call.BufferStart))
            {
                throw new ArgumentOutOfRangeException(nameof(calls), "A request reaches past its buffer");
            }
        }

        fixed (byte* target = readBuffer)
        {
            var caller = new NbdCaller(target, readBuffer.Length);
            try
            {
                foreach (var call in calls)
                {
                    Reserve(caller, call);
                    Send(call, writeSource);
                }

                lock (caller)
                {
                    while (caller.Outstanding > 0 && !Volatile.Read(ref _receiverExited))
                    {
                        Monitor.Wait(caller);
                    }
                }

                ThrowIfFailed(caller);
                if (caller.Outstanding > 0)
                {
                    throw new IOException("Connection closed by the NBD server");
                }
            }
            finally
            {
                // The receiver must be done with this buffer before it is unpinned.
                if (Volatile.Read(ref caller.Outstanding) > 0)
                {
                    Fail("The request was abandoned", protocol: false);
                    WaitForReceiverExit();
                }
            }
        }

        ThrowIfRefused(calls);
    }

    /// <summary>Throws the error of the first answered call the server refused.</summary>
    public static void ThrowIfRefused(ReadOnlySpan<NbdCall> calls)
    {
        foreach (var call in calls)
        {
            if (call.Done && call.Error != NbdError.None)
            {
                throw new ImageAccessException($"NBD {Describe(call.Command)} failed: {ErrorText(call.Error)}");
            }
        }
    }

    /// <summary>Sends <c>NBD_CMD_DISC</c> when the connection is still sound, then closes it.</summary>
    public void Dispose()
    {
        try
        {
            if (_failure is null)
            {
                lock (_sendGate)
                {
                    WriteHeader(_sendBuffer, NbdCommand.Disconnect, NbdCommandFlags.None, 0, 0, 0);
                    _stream.Write(_sendBuffer, 0, 28);
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The server is gone already.
        }

        Fail("The connection was closed", protocol: false);
        WaitForReceiverExit();
        _stream.Dispose();
    }

    private void Reserve(NbdCaller caller, NbdCall call)
    {
        lock (_gate)
        {
            while (true)
            {
                ThrowIfFailed(null);
                if (_calls.Count < MaxCallsInFlight && (_bytesInFlight == 0 || _bytesInFlight + call.Charge <= MaxBytesInFlight))
                {
                    break;
                }

                _windowWaiters++;
                Monitor.Wait(_gate);
                _windowWaiters--;
            }

            call.Cookie = ++_nextCookie;
            call.Owner = caller;
            _calls.Add(call.Cookie, call);
            _bytesInFlight += call.Charge;
            lock (caller)
            {
                caller.Outstanding++;
            }
        }
    }

    private void ThrowIfFailed(NbdCaller? caller)
    {
        if (_failure is { } failure && (caller is null || caller.Outstanding > 0))
        {
            throw _failureIsProtocol ? new ImageAccessException(failure) : new IOException(failure);
        }
    }

    private void Send(NbdCall call, ReadOnlySpan<byte> writeSource)
    {
        var payload = call.Command == NbdCommand.Write ? writeSource.Slice(call.BufferStart, (int)call.Length) : [];
        try
        {
            lock (_sendGate)
            {
                WriteHeader(_sendBuffer, call.Command, call.Flags, call.Cookie, call.Offset, call.Length);
                if (payload.Length <= SmallWrite)
                {
                    // One send for the header and a small payload.
                    payload.CopyTo(_sendBuffer.AsSpan(28));
                    _stream.Write(_sendBuffer, 0, 28 + payload.Length);
                }
                else
                {
                    _stream.Write(_sendBuffer, 0, 28);
                    _stream.Write(payload);
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Fail(e.Message, protocol: false);
            ThrowIfFailed(null);
            throw;
        }
    }

    private static void WriteHeader(Span<byte> header, NbdCommand command, NbdCommandFlags flags, ulong cookie, long offset, uint length)
    {
        BinaryPrimitives.WriteUInt32BigEndian(header, NbdConstants.RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], (ushort)flags);
        BinaryPrimitives.WriteUInt16BigEndian(header[6..], (ushort)command);
        BinaryPrimitives.WriteUInt64BigEndian(header[8..], cookie);
        BinaryPrimitives.WriteUInt64BigEndian(header[16..], (ulong)offset);
        BinaryPrimitives.WriteUInt32BigEndian(header[24..], length);
    }

    /// <summary>Records the first failure and closes the socket, so the receiver and every sender stop at once.</summary>
    private void Fail(string message, bool protocol)
    {
        lock (_gate)
        {
            if (_failure is not null)
            {
                return;
            }

            _failure = message;
            _failureIsProtocol = protocol;
            Monitor.PulseAll(_gate);
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
    }

    private void WaitForReceiverExit()
    {
        lock (_gate)
        {
            while (!_receiverExited)
            {
                Monitor.Wait(_gate);
            }
        }
    }

    private void Receive()
    {
        try
        {
            while (true)
            {
                var header = ReadHeader();
                NbdCall? call;
                lock (_gate)
                {
                    _calls.TryGetValue(header.Cookie, out call);
                }

                if (call is null)
                {
                    throw new NbdProtocolException($"NBD server replied with handle {header.Cookie}, which no request in flight has");
                }

                ReadPayload(header, call);
                if (call.Done)
                {
                    Complete(call);
                }
            }
        }
        catch (NbdProtocolException e)
        {
            Fail(e.Message, protocol: true);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or EndOfStreamException)
        {
            Fail(e is EndOfStreamException ? "Connection closed by the NBD server" : e.Message, protocol: false);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or OverflowException or System.Security.Authentication.AuthenticationException)
        {
            // Whatever else a reply causes ends this connection, never the process.
            Fail($"Unexpected reply from the NBD server: {e.Message}", protocol: true);
        }
        finally
        {
            NbdCaller[] callers;
            lock (_gate)
            {
                _receiverExited = true;
                callers = [.. _calls.Values.Select(c => c.Owner!).Distinct()];
                Monitor.PulseAll(_gate);
            }

            foreach (var caller in callers)
            {
                lock (caller)
                {
                    Monitor.PulseAll(caller);
                }
            }
        }
    }

    private void Complete(NbdCall call)
    {
        lock (_gate)
        {
            _calls.Remove(call.Cookie);
            _bytesInFlight -= call.Charge;
            if (_windowWaiters > 0)
            {
                Monitor.PulseAll(_gate);
            }
        }

        var caller = call.Owner!;
        lock (caller)
        {
            caller.Outstanding--;
            if (caller.Outstanding == 0)
            {
                Monitor.Pulse(caller);
            }
        }
    }

    private NbdReplyHeader ReadHeader()
    {
        var header = _replyHeader.AsSpan();
        _reader.ReadExactly(header[..16]);
        var magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (magic == NbdConstants.SimpleReplyMagic)
        {
            return new NbdReplyHeader(false, BinaryPrimitives.ReadUInt64BigEndian(header[8..]), (NbdError)BinaryPrimitives.ReadUInt32BigEndian(header[4..]), true, NbdReplyType.None, 0);
        }

        if (magic != NbdConstants.StructuredReplyMagic || !_structured)
        {
            throw new NbdProtocolException("Unexpected reply from the NBD server");
        }

        _reader.ReadExactly(header[16..20]);
        var done = (BinaryPrimitives.ReadUInt16BigEndian(header[4..]) & 1) != 0;
        var type = (NbdReplyType)BinaryPrimitives.ReadUInt16BigEndian(header[6..]);
        return new NbdReplyHeader(true, BinaryPrimitives.ReadUInt64BigEndian(header[8..]), NbdError.None, done, type, BinaryPrimitives.ReadUInt32BigEndian(header[16..]));
    }

    private void ReadPayload(NbdReplyHeader header, NbdCall call)
    {
        if (!header.Structured)
        {
            // A simple reply carries the read data after it when there is no error.
            if (header.Error == NbdError.None && call.Command == NbdCommand.Read)
            {
                _reader.ReadExactly(Target(call, 0, call.Length));
            }
            else if (header.Error == NbdError.None && call.Command == NbdCommand.BlockStatus)
            {
                throw new NbdProtocolException("NBD server answered block status without a status chunk");
            }

            Record(call, header.Error);
            call.Done = true;
            return;
        }

        switch (header.Type)
        {
            case NbdReplyType.None when header.Length == 0:
                break;
            case NbdReplyType.OffsetData when call.Command == NbdCommand.Read:
                ReadData(header.Length, call);
                break;
            case NbdReplyType.OffsetHole when call.Command == NbdCommand.Read:
                ReadHole(header.Length, call);
                break;
            case NbdReplyType.BlockStatus when call.Command == NbdCommand.BlockStatus:
                ReadStatus(header.Length, call);
                break;
            case var type when ((ushort)type & 0x8000) != 0:
                Record(call, ReadError(header.Length));
                break;
            default:
                throw new NbdProtocolException($"Unexpected reply chunk type {(ushort)header.Type} (length {header.Length}) from the NBD server");
        }

        call.Done = header.Done;
    }

    private static void Record(NbdCall call, NbdError error)
    {
        if (call.Error == NbdError.None)
        {
            call.Error = error;
        }
    }

    /// <summary>The part of the owner's buffer a chunk covers, checked against the request's range.</summary>
    private static Span<byte> Target(NbdCall call, long start, long count)
    {
        if (start < 0 || start > call.Length || count > call.Length - start)
        {
            throw new NbdProtocolException("NBD server sent a chunk outside the range asked for");
        }

        var owner = call.Owner!;
        return new Span<byte>(owner.Buffer + call.BufferStart + start, (int)count);
    }

    private void ReadData(uint length, NbdCall call)
    {
        if (length < 8 || length - 8 > call.Length)
        {
            throw new NbdProtocolException($"NBD server sent a data chunk of {length} bytes for a read of {call.Length}");
        }

        Span<byte> position = stackalloc byte[8];
        _reader.ReadExactly(position);
        _reader.ReadExactly(Target(call, (long)BinaryPrimitives.ReadUInt64BigEndian(position) - call.Offset, length - 8));
    }

    private void ReadHole(uint length, NbdCall call)
    {
        if (length != 12)
        {
            throw new NbdProtocolException("Malformed hole chunk from the NBD server");
        }

        Span<byte> hole = stackalloc byte[12];
        _reader.ReadExactly(hole);
        Target(call, (long)BinaryPrimitives.ReadUInt64BigEndian(hole) - call.Offset, BinaryPrimitives.ReadUInt32BigEndian(hole[8..])).Clear();
    }

    private void ReadStatus(uint length, NbdCall call)
    {
        if (length < 12 || (length - 4) % 8 != 0 || length > MaxStatusChunk)
        {
            throw new NbdProtocolException("Malformed block status chunk from the NBD server");
        }

        var data = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            _reader.ReadExactly(data.AsSpan(0, (int)length));
            if (BinaryPrimitives.ReadUInt32BigEndian(data) != _baseAllocationId)
            {
                return;
            }

            for (var i = 4; i < length; i += 8)
            {
                call.Runs!.Add((BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(i)), (NbdAllocationFlags)BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(i + 4))));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    private NbdError ReadError(uint length)
    {
        if (length < 6 || length > MaxErrorChunk)
        {
            throw new NbdProtocolException("Malformed error chunk from the NBD server");
        }

        var data = new byte[length];
        _reader.ReadExactly(data);
        if (BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(4)) > length - 6)
        {
            throw new NbdProtocolException("Malformed error chunk from the NBD server");
        }

        var error = (NbdError)BinaryPrimitives.ReadUInt32BigEndian(data);
        return error == NbdError.None ? NbdError.IoError : error;
    }

    private static string Describe(NbdCommand command) => command switch
    {
        NbdCommand.Read => "read",
        NbdCommand.Write => "write",
        NbdCommand.Flush => "flush",
        NbdCommand.Trim => "discard",
        NbdCommand.WriteZeroes => "write zeroes",
        NbdCommand.BlockStatus => "block status",
        _ => command.ToString().ToLowerInvariant(),
    };

    private static string ErrorText(NbdError error) => error switch
    {
        NbdError.NotPermitted => "Operation not permitted",
        NbdError.IoError => "Input/output error",
        NbdError.OutOfMemory => "Cannot allocate memory",
        NbdError.InvalidArgument => "Invalid argument",
        NbdError.NoSpace => "No space left on device",
        NbdError.Overflow => "Value too large for defined data type",
        NbdError.NotSupported => "Operation not supported",
        NbdError.Shutdown => "Cannot send after transport endpoint shutdown",
        _ => $"error {(uint)error}",
    };

    /// <summary>A reply that breaks the protocol; the connection cannot be trusted after it.</summary>
    private sealed class NbdProtocolException(string message) : Exception(message);
}
