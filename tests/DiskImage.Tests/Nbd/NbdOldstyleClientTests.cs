using System.Buffers.Binary;
using System.Net.Sockets;
using DiskImage.Nbd;
using DiskImage.Nbd.Client;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Nbd;

/// <summary>
/// The oldstyle handshake (NBDMAGIC, the oldstyle magic, a 64-bit size, 32-bit flags, 124 reserved bytes) from a
/// scripted server: read as the protocol defines it, its bad values refused with one error, and mutated greetings
/// ending in a connection or one error, never a hang or a crash. Then <c>reconnect-delay</c>: a write the server
/// drops is sent again on the next connection, and one with no server to come fails once the delay has passed.
/// </summary>
public class NbdOldstyleClientTests
{
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(30);

    private static byte[] Greeting(ulong size, uint flags)
    {
        var greeting = new byte[16 + 8 + 4 + 124];
        BinaryPrimitives.WriteUInt64BigEndian(greeting, 0x4e42444d41474943); // "NBDMAGIC"
        BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), 0x00420281861253);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(16), size);
        BinaryPrimitives.WriteUInt32BigEndian(greeting.AsSpan(24), flags);
        return greeting;
    }

    private static Socket Listen(string path)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(4);
        return listener;
    }

    /// <summary>Sends <paramref name="greeting"/> to the next client, then ends its side and drains what the client sends.</summary>
    private static Task Serve(Socket listener, byte[] greeting) => Task.Run(async () =>
    {
        using var socket = await listener.AcceptAsync();
        try
        {
            await socket.SendAsync(greeting);
            socket.Shutdown(SocketShutdown.Send);
            while (await socket.ReceiveAsync(new byte[4096]) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // The client hung up.
        }
    });

    [Fact]
    public async Task The_size_and_flags_of_an_oldstyle_greeting_are_the_exports()
    {
        using var dir = new TempDirectory();
        var path = dir.File("s.sock");
        using var listener = Listen(path);
        var server = Serve(listener, Greeting(3 << 20, 0x1 | 0x2));
        using (var client = await Task.Run(() => NbdClient.Connect(NbdUri.Parse($"nbd+unix:///?socket={path}"), null)).WaitAsync(s_limit))
        {
            Assert.Equal(3L << 20, client.Size);
            Assert.Equal(NbdTransmissionFlags.HasFlags | NbdTransmissionFlags.ReadOnly, client.Flags);
            Assert.False(client.Structured);
            Assert.False(client.HasBlockStatus);
        }

        await server.WaitAsync(s_limit);
    }

    [Theory]
    [InlineData(1ul << 20, 0x10000u, "", "Unexpected export flags 10000x")]
    [InlineData(ulong.MaxValue, 0u, "", "NBD export size is out of range")]
    [InlineData(1ul << 20, 0u, "named", "Server does not support non-empty export names")]
    public async Task Bad_oldstyle_values_are_refused(ulong size, uint flags, string export, string message)
    {
        using var dir = new TempDirectory();
        var path = dir.File("s.sock");
        using var listener = Listen(path);
        var server = Serve(listener, Greeting(size, flags));
        var error = await Assert.ThrowsAsync<ImageAccessException>(
            () => Task.Run(() => NbdClient.Connect(NbdUri.Parse($"nbd+unix:///{export}?socket={path}"), null)).WaitAsync(s_limit));
        Assert.Equal(message, error.Message);
        await server.WaitAsync(s_limit);
    }

    [Fact]
    public async Task Mutated_oldstyle_greetings_end_in_a_connection_or_one_error()
    {
        var random = new Random(277);
        using var dir = new TempDirectory();
        for (var trial = 0; trial < 120; trial++)
        {
            var path = dir.File($"s{trial}.sock");
            using var listener = Listen(path);
            var server = Serve(listener, Mutate(Greeting(8 << 20, 1), random));
            try
            {
                using var client = await Task.Run(() => NbdClient.Connect(NbdUri.Parse($"nbd+unix:///?socket={path}"), null)).WaitAsync(s_limit);
                Assert.InRange(client.Size, 0, long.MaxValue);
                Assert.InRange((uint)client.Flags, 0u, 0xffffu);
            }
            catch (ImageAccessException)
            {
                // One clean error is a correct outcome.
            }

            await server.WaitAsync(s_limit);
        }
    }

    private static byte[] Mutate(byte[] valid, Random random)
    {
        var data = valid.ToList();
        switch (random.Next(4))
        {
            case 0:
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    data[random.Next(28)] ^= (byte)random.Next(1, 256);
                }

                break;
            case 1:
                data.RemoveRange(random.Next(data.Count), random.Next(1, 16));
                break;
            case 2:
                data.RemoveRange(random.Next(data.Count), 1);
                break;
            default:
                data.InsertRange(random.Next(data.Count), Enumerable.Repeat((byte)random.Next(256), random.Next(1, 9)));
                break;
        }

        return [.. data.Take(valid.Length + 16)];
    }

    /// <summary>Accepts one connection, answers its oldstyle greeting, and hands the socket to <paramref name="transmission"/>.</summary>
    private static Task Session(Socket listener, Func<Socket, Task> transmission) => Task.Run(async () =>
    {
        using var socket = await listener.AcceptAsync();
        await socket.SendAsync(Greeting(8 << 20, 1));
        try
        {
            await transmission(socket);
        }
        catch (Exception e) when (e is SocketException or EndOfStreamException)
        {
            // The client hung up.
        }
    });

    private static async Task<(NbdCommand Command, ulong Cookie, uint Length)> ReadRequest(Socket socket)
    {
        var request = new byte[28];
        await ReceiveExactly(socket, request);
        var command = (NbdCommand)BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(6));
        var length = BinaryPrimitives.ReadUInt32BigEndian(request.AsSpan(24));
        if (command == NbdCommand.Write)
        {
            await ReceiveExactly(socket, new byte[length]);
        }

        return (command, BinaryPrimitives.ReadUInt64BigEndian(request.AsSpan(8)), length);
    }

    private static async Task ReceiveExactly(Socket socket, byte[] buffer)
    {
        for (var done = 0; done < buffer.Length;)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(done));
            done += n > 0 ? n : throw new EndOfStreamException();
        }
    }

    [Fact]
    public async Task A_dropped_write_is_sent_again_on_the_next_connection_as_one_request()
    {
        using var dir = new TempDirectory();
        var path = dir.File("s.sock");
        using var listener = Listen(path);
        var requests = new List<(NbdCommand, uint)>();
        // The first connection takes the write and drops it unanswered; the second answers it.
        var first = Session(listener, async socket =>
        {
            var (command, _, length) = await ReadRequest(socket);
            requests.Add((command, length));
        });
        var second = Task.Run(async () =>
        {
            await first;
            await Session(listener, async socket =>
            {
                var (command, cookie, length) = await ReadRequest(socket);
                requests.Add((command, length));
                var reply = new byte[16];
                BinaryPrimitives.WriteUInt32BigEndian(reply, 0x67446698);
                BinaryPrimitives.WriteUInt64BigEndian(reply.AsSpan(8), cookie);
                await socket.SendAsync(reply);
                await ReadRequest(socket);
            });
        });

        using (var client = NbdClient.Connect(NbdUri.Parse($"nbd+unix:///?socket={path}&reconnect-delay=5"), null))
        {
            await Task.Run(() => client.Write(0, new byte[3 << 20], fua: false)).WaitAsync(s_limit);
        }

        await second.WaitAsync(s_limit);
        Assert.Equal([(NbdCommand.Write, 3u << 20), (NbdCommand.Write, 3u << 20)], requests);
    }

    [Fact]
    public async Task Without_a_new_connection_the_request_fails_once_the_delay_has_passed()
    {
        using var dir = new TempDirectory();
        var path = dir.File("s.sock");
        var listener = Listen(path);
        // The server hangs up right after its greeting and is gone for good.
        var session = Session(listener, _ => Task.CompletedTask);
        using var client = NbdClient.Connect(NbdUri.Parse($"nbd+unix:///?socket={path}&reconnect-delay=3"), null);
        await session.WaitAsync(s_limit);
        listener.Dispose();

        var (error, waited) = await TimedRead(client);
        Assert.Equal("Input/output error", error.Message);
        Assert.InRange(waited, TimeSpan.FromSeconds(2.8), TimeSpan.FromSeconds(9));

        // After the delay, a request fails at once while no server can be reached: well short of another delay.
        (_, waited) = await TimedRead(client);
        Assert.InRange(waited, TimeSpan.Zero, TimeSpan.FromSeconds(2.5));
    }

    /// <summary>
    /// A read expected to fail, timed on the thread that makes it, so a busy thread pool's late start is not counted.
    /// </summary>
    private static async Task<(IOException Error, TimeSpan Waited)> TimedRead(NbdClient client)
    {
        var waited = TimeSpan.Zero;
        var error = await Assert.ThrowsAsync<IOException>(() => Task.Run(() =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                client.Read(0, new byte[4096]);
            }
            finally
            {
                waited = clock.Elapsed;
            }
        }).WaitAsync(s_limit));
        return (error, waited);
    }
}
