using System.Buffers.Binary;
using System.Net.Sockets;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>
/// A server of the newstyle handshake without the fixed variant (no options but <c>NBD_OPT_EXPORT_NAME</c>, as the
/// oldest newstyle servers and iotest 083's fault injector speak it), scripted here: qemu-io and <c>diskimg io</c> read
/// the same export from it, and fail alike where it hangs up during the handshake or before the first reply.
/// </summary>
public class NbdExportNameServerTests
{
    private const ulong NbdMagic = 0x4e42444d41474943; // "NBDMAGIC"
    private const ulong OptionMagic = 0x49484156454F5054; // "IHAVEOPT"
    private const ushort NoZeroes = 2;
    private const int ExportSize = 1 << 20;

    public enum Script
    {
        /// <summary>Answers the export name and every read.</summary>
        Serve,

        /// <summary>Hangs up after the client's export name, before the export's length.</summary>
        HangUpBeforeLength,

        /// <summary>Hangs up in the middle of the reserved block.</summary>
        HangUpInReservedBlock,

        /// <summary>Completes the handshake, then hangs up before answering a request.</summary>
        HangUpBeforeReply,
    }

    [Theory]
    [InlineData(Script.Serve, false)]
    [InlineData(Script.Serve, true)]
    [InlineData(Script.HangUpBeforeLength, false)]
    [InlineData(Script.HangUpInReservedBlock, false)]
    [InlineData(Script.HangUpBeforeReply, true)]
    public async Task Qemu_io_and_diskimg_io_read_alike(Script script, bool offerNoZeroes)
    {
        using var dir = new TempDirectory();
        var path = dir.File("s.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(4);
        var clientFlags = new List<uint>();
        using var stop = new CancellationTokenSource();
        var server = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var socket = await listener.AcceptAsync(stop.Token);
                try
                {
                    clientFlags.Add(await Session(socket, script, offerNoZeroes));
                }
                catch (Exception e) when (e is SocketException or EndOfStreamException)
                {
                    // The client hung up.
                }
            }
        });

        string[] arguments = ["-r", "-f", "raw", "-c", "read -v 0 48", "-c", "read -v 65530 12", "-c", "read 4k 256k", $"nbd+unix:///foo?socket={path}"];
        var theirs = ExternalTool.Run("qemu-io", arguments);
        var ours = Diskimg.Run(["io", .. arguments]);
        await stop.CancelAsync();
        try
        {
            // The server's own assertions (what the clients sent) fail the test here.
            await server;
        }
        catch (OperationCanceledException)
        {
        }

        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut), QemuToolOutput.Normalise(ours.StdOut));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        // Neither client asks for the fixed variant; both drop the zeroes when offered.
        Assert.Equal([offerNoZeroes ? NoZeroes : 0u, offerNoZeroes ? NoZeroes : 0u], clientFlags);
        if (script == Script.Serve)
        {
            Assert.Contains("read 262144/262144 bytes at offset 4096", ours.StdOut, StringComparison.Ordinal);
        }
    }

    /// <summary>One connection as <paramref name="script"/> says; returns the client's flags.</summary>
    private static async Task<uint> Session(Socket socket, Script script, bool offerNoZeroes)
    {
        var greeting = new byte[18];
        BinaryPrimitives.WriteUInt64BigEndian(greeting, NbdMagic);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), OptionMagic);
        BinaryPrimitives.WriteUInt16BigEndian(greeting.AsSpan(16), offerNoZeroes ? NoZeroes : (ushort)0);
        await socket.SendAsync(greeting);
        var flags = new byte[4];
        await ReceiveExactly(socket, flags);
        var option = new byte[16];
        await ReceiveExactly(socket, option);
        Assert.Equal(OptionMagic, BinaryPrimitives.ReadUInt64BigEndian(option));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(option.AsSpan(8))); // NBD_OPT_EXPORT_NAME
        var name = new byte[Math.Min(BinaryPrimitives.ReadUInt32BigEndian(option.AsSpan(12)), 4096u)];
        await ReceiveExactly(socket, name);
        Assert.Equal("foo"u8.ToArray(), name);
        var clientFlags = BinaryPrimitives.ReadUInt32BigEndian(flags);
        if (script == Script.HangUpBeforeLength)
        {
            return HangUp(socket, clientFlags);
        }

        var zeroes = (clientFlags & NoZeroes) == 0;
        var export = new byte[10 + (zeroes ? 124 : 0)];
        BinaryPrimitives.WriteUInt64BigEndian(export, ExportSize);
        BinaryPrimitives.WriteUInt16BigEndian(export.AsSpan(8), 1 | 2); // has flags, read-only
        if (script == Script.HangUpInReservedBlock)
        {
            await socket.SendAsync(export.AsMemory(0, 60));
            return HangUp(socket, clientFlags);
        }

        await socket.SendAsync(export);
        while (true)
        {
            var request = new byte[28];
            await ReceiveExactly(socket, request);
            var type = BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(6));
            if (type == 2 || script == Script.HangUpBeforeReply)
            {
                // NBD_CMD_DISC, or the script's hang-up.
                return HangUp(socket, clientFlags);
            }

            var offset = BinaryPrimitives.ReadUInt64BigEndian(request.AsSpan(16));
            var length = BinaryPrimitives.ReadUInt32BigEndian(request.AsSpan(24));
            Assert.Equal(0, type); // NBD_CMD_READ: the export is read-only and the clients only read
            Assert.InRange(offset + length, 0ul, (ulong)ExportSize);
            var reply = new byte[16 + length];
            BinaryPrimitives.WriteUInt32BigEndian(reply, 0x67446698);
            request.AsSpan(8, 8).CopyTo(reply.AsSpan(8));
            for (var i = 0; i < length; i++)
            {
                reply[16 + i] = (byte)((offset + (ulong)i) * 7 % 251);
            }

            await socket.SendAsync(reply);
        }
    }

    private static uint HangUp(Socket socket, uint clientFlags)
    {
        socket.Shutdown(SocketShutdown.Both);
        return clientFlags;
    }

    private static async Task ReceiveExactly(Socket socket, byte[] buffer)
    {
        for (var done = 0; done < buffer.Length;)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(done));
            done += n > 0 ? n : throw new EndOfStreamException();
        }
    }
}
