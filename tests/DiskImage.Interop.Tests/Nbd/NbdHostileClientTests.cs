using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// Raw-socket clients that break the protocol in every way we could think of. After each, the server must
/// still be running and serve qemu-io the right data.
/// </summary>
public class NbdHostileClientTests
{
    private const ulong OptionMagic = 0x49484156454F5054;

    [Fact]
    public void Hostile_clients_leave_the_server_alive_and_serving()
    {
        using var dir = new TempDirectory();
        var image = dir.File("ro.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "4M");
        ExternalTool.QemuIo("-c", "write -P 0x66 0 64k", image);
        using var server = NbdProcess.Diskimg(dir.File("s.sock"), 0, "-t", "-r", "-e", "2", "-f", "qcow2", "-k", dir.File("s.sock"), image);

        void AssertServing(string after)
        {
            Assert.False(server.HasExited, $"server died after: {after}");
            var read = ExternalTool.QemuIo("-f", "raw", "-r", "-c", "read -P 0x66 0 64k", server.Uri());
            Assert.DoesNotContain("fail", read, StringComparison.Ordinal);
            Assert.Contains("read 65536/65536", read, StringComparison.Ordinal);
        }

        // Bad magic in the option phase: the connection is closed.
        using (var s = server.Connect())
        {
            ReadGreeting(s);
            SendU32(s, 3);
            var junk = new byte[16];
            junk.AsSpan().Fill(0xee);
            s.Send(junk);
            Assert.True(ClosedByServer(s));
        }

        AssertServing("bad magic");

        // An unknown option is answered with NBD_REP_ERR_UNSUP and the session goes on.
        using (var s = server.Connect())
        {
            ReadGreeting(s);
            SendU32(s, 3);
            SendOption(s, 0x7777, []);
            var (_, type, _) = ReadOptionReply(s);
            Assert.Equal(0x80000001u, type);
            SendOption(s, 2, []); // abort
        }

        AssertServing("unknown option");

        // An option claiming 3 GiB of payload: refused without reading it.
        using (var s = server.Connect())
        {
            ReadGreeting(s);
            SendU32(s, 3);
            var header = new byte[16];
            BinaryPrimitives.WriteUInt64BigEndian(header, OptionMagic);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), 7);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), 3u << 30);
            s.Send(header);
            try
            {
                s.Send(new byte[4096]);
            }
            catch (SocketException)
            {
                // The server answers from the header alone and closes without reading the payload, so this send can
                // meet a closed socket; the reply is still queued for reading.
            }

            var (_, type, _) = ReadOptionReply(s);
            Assert.Equal(0x80000009u, type);
            Assert.True(ClosedByServer(s));
        }

        AssertServing("huge option");

        // Requests out of range, overflowing, 4 GiB long, writes on a read-only export: errors, connection kept.
        using (var s = Transmission(server))
        {
            Assert.Equal(22u, Request(s, 0, 0, ulong.MaxValue - 10, 4096)); // offset + length overflows
            Assert.Equal(22u, Request(s, 0, 0, 4 << 20, 512)); // past the end
            Assert.Equal(22u, Request(s, 0, 0, 0, uint.MaxValue)); // 4 GiB read
            Assert.Equal(1u, Request(s, 1, 0, 0, 512, new byte[512])); // write on read-only
            Assert.Equal(1u, Request(s, 6, 0, 0, 512)); // write zeroes on read-only
            Assert.Equal(22u, Request(s, 42, 0, 0, 512)); // unknown command
            Assert.Equal(0u, Request(s, 0, 0, 0, 4096)); // still in step: a good read succeeds
            ReadExactly(s, new byte[4096]);
        }

        AssertServing("bad requests");

        // A 4 GiB write: answered with an error and the connection closed (its payload cannot be skipped).
        using (var s = Transmission(server))
        {
            SendRequest(s, 1, 0, 0, uint.MaxValue);
            Assert.Equal(22u, ReadSimpleReplyError(s));
            Assert.True(ClosedByServer(s));
        }

        AssertServing("4 GiB write");

        // A client that disconnects in the middle of a write payload.
        using (var s = Transmission(server))
        {
            SendRequest(s, 1, 0, 0, 1 << 20);
            s.Send(new byte[1000]);
        }

        AssertServing("disconnect mid-payload");

        // A client that stalls the handshake, and more clients than -e 2: the others still get served,
        // because the stalled ones are dropped after the handshake limit.
        var stalled = new List<Socket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var s = server.Connect();
                stalled.Add(s);
            }

            Thread.Sleep(500);
            AssertServing("stalled handshakes and more connections than -e");
        }
        finally
        {
            stalled.ForEach(s => s.Dispose());
        }

        AssertServing("end");
    }

    [Fact]
    public void A_flood_of_connections_without_a_limit_is_served_by_a_bounded_number_of_threads()
    {
        using var dir = new TempDirectory();
        var image = dir.File("ro.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "4M");
        ExternalTool.QemuIo("-c", "write -P 0x66 0 64k", image);
        using var server = NbdProcess.Diskimg(dir.File("s.sock"), 0, "-t", "-r", "-e", "0", "-f", "qcow2", "-k", dir.File("s.sock"), image);
        using (Transmission(server))
        {
        }

        var threadsBefore = ProcStatus(server.Id, "Threads");
        var held = new List<Socket>();
        try
        {
            // As many clients as the server serves at once, each past the handshake so that none is dropped.
            var limit = DiskImage.Nbd.NbdServer.ConnectionLimit;
            for (var i = 0; i < limit; i++)
            {
                held.Add(Transmission(server));
            }

            var threads = ProcStatus(server.Id, "Threads");
            Assert.True(threads - threadsBefore <= limit + 8, $"{threads - threadsBefore} more threads for {limit} connections");

            // One more waits in the listen backlog: no greeting while the others hold every slot.
            var waiting = server.Connect();
            held.Add(waiting);
            waiting.ReceiveTimeout = 1000;
            var greeting = new byte[18];
            var timedOut = Assert.Throws<SocketException>(() => waiting.Receive(greeting));
            Assert.Equal(SocketError.TimedOut, timedOut.SocketErrorCode);
            Assert.False(server.HasExited);
            Assert.True(ProcStatus(server.Id, "Threads") - threadsBefore <= limit + 8, "threads grew with the waiting client");

            // A slot frees: the waiting client is served.
            held[0].Dispose();
            waiting.ReceiveTimeout = 20000;
            ReadGreeting(waiting);
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }

        var read = ExternalTool.QemuIo("-f", "raw", "-r", "-c", "read -P 0x66 0 64k", server.Uri());
        Assert.Contains("read 65536/65536", read, StringComparison.Ordinal);
    }

    /// <summary>A number from /proc/PID/status (e.g. Threads, or VmHWM in kB).</summary>
    private static long ProcStatus(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Pipelined_simple_reads_past_the_byte_budget_are_all_answered_with_their_data()
    {
        using var dir = new TempDirectory();
        var image = dir.File("ro.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "4M");
        ExternalTool.QemuIo("-c", "write -P 0x66 0 1M", "-c", "write -P 0x77 1M 1M", image);
        using var server = NbdProcess.Diskimg(dir.File("s.sock"), 0, "-t", "-r", "-f", "qcow2", "-k", dir.File("s.sock"), image);
        using var s = Transmission(server);

        // 256 KiB reads (header sent apart from the data) and 4 KiB reads (header in headroom), 3 MiB in all:
        // three times the connection's 1 MiB budget, so later requests wait for earlier replies.
        var lengths = new Dictionary<ulong, (ulong Offset, int Length)>();
        for (var i = 0; i < 8; i++)
        {
            lengths[(ulong)(2 * i)] = ((ulong)i * (256 << 10), 256 << 10);
            lengths[(ulong)(2 * i) + 1] = (((ulong)i * (256 << 10)) + 4096, 4096);
        }

        foreach (var (cookie, (offset, length)) in lengths)
        {
            var request = new byte[28];
            BinaryPrimitives.WriteUInt32BigEndian(request, 0x25609513);
            BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), 0); // NBD_CMD_READ
            BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(8), cookie);
            BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(16), offset);
            BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(24), (uint)length);
            s.Send(request);
        }

        var answered = new HashSet<ulong>();
        for (var n = 0; n < lengths.Count; n++)
        {
            var reply = new byte[16];
            ReadExactly(s, reply);
            Assert.Equal(0x67446698u, BinaryPrimitives.ReadUInt32BigEndian(reply));
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4)));
            var cookie = BinaryPrimitives.ReadUInt64BigEndian(reply.AsSpan(8));
            Assert.True(lengths.TryGetValue(cookie, out var asked), $"unknown cookie {cookie}");
            Assert.True(answered.Add(cookie), $"cookie {cookie} answered twice");
            var data = new byte[asked.Length];
            ReadExactly(s, data);
            var expected = asked.Offset < (1 << 20) ? (byte)0x66 : (byte)0x77;
            Assert.False(data.AsSpan().ContainsAnyExcept(expected), $"wrong data for the read at {asked.Offset}");
        }

        Assert.Equal(lengths.Count, answered.Count);
        SendRequest(s, 2, 0, 0, 0); // disconnect
    }

    private static Socket Transmission(NbdProcess server)
    {
        var s = server.Connect();
        ReadGreeting(s);
        SendU32(s, 3);
        var go = new byte[6];
        SendOption(s, 7, go);
        while (true)
        {
            var (_, type, _) = ReadOptionReply(s);
            if (type == 1)
            {
                return s;
            }

            Assert.Equal(3u, type);
        }
    }

    internal static void ReadGreeting(Socket s)
    {
        var greeting = new byte[18];
        ReadExactly(s, greeting);
        Assert.Equal(0x4e42444d41474943ul, BinaryPrimitives.ReadUInt64BigEndian(greeting));
    }

    internal static void SendU32(Socket s, uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        s.Send(b);
    }

    internal static void SendOption(Socket s, uint option, byte[] data)
    {
        var header = new byte[16 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(header, OptionMagic);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), (uint)data.Length);
        data.CopyTo(header, 16);
        s.Send(header);
    }

    internal static (uint Option, uint Type, byte[] Data) ReadOptionReply(Socket s)
    {
        var header = new byte[20];
        ReadExactly(s, header);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16));
        Assert.True(length < 65536);
        var data = new byte[length];
        ReadExactly(s, data);
        return (BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8)), BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12)), data);
    }

    private static void SendRequest(Socket s, ushort command, ushort flags, ulong offset, uint length)
    {
        var request = new byte[28];
        BinaryPrimitives.WriteUInt32BigEndian(request, 0x25609513);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), command);
        BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(8), 0x1234);
        BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(24), length);
        s.Send(request);
    }

    /// <summary>One request (simple replies: no structured replies were negotiated); returns the error field.</summary>
    private static uint Request(Socket s, ushort command, ushort flags, ulong offset, uint length, byte[]? payload = null)
    {
        SendRequest(s, command, flags, offset, length);
        if (payload is not null)
        {
            s.Send(payload);
        }

        return ReadSimpleReplyError(s);
    }

    private static uint ReadSimpleReplyError(Socket s)
    {
        var reply = new byte[16];
        ReadExactly(s, reply);
        Assert.Equal(0x67446698u, BinaryPrimitives.ReadUInt32BigEndian(reply));
        return BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4));
    }

    private static void ReadExactly(Socket s, byte[] buffer)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = s.Receive(buffer, done, buffer.Length - done, SocketFlags.None);
            if (n == 0)
            {
                throw new EndOfStreamException($"server closed after {done.ToString(CultureInfo.InvariantCulture)} bytes");
            }

            done += n;
        }
    }

    /// <summary>True when the server closes the connection (bounded by the socket's receive timeout).</summary>
    internal static bool ClosedByServer(Socket s)
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                if (s.Receive(buffer) == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
    }
}
