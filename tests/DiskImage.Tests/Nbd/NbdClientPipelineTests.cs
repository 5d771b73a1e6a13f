using System.Buffers.Binary;
using System.Net.Sockets;
using DiskImage.Nbd;
using DiskImage.Nbd.Client;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Nbd;

/// <summary>
/// The client against a scripted server on a raw socket: requests of one read are all in flight before any
/// reply, replies out of order land where they belong, and a server's bogus handle, oversized chunk or
/// hang-up gives one error, never a hang.
/// </summary>
public class NbdClientPipelineTests
{
    private const long ExportSize = 8 << 20;
    private static readonly TimeSpan s_limit = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Requests_are_in_flight_together_and_answers_out_of_order_land_in_place()
    {
        using var dir = new TempDirectory();
        var seen = 0;
        await using var server = FakeServer.Start(dir.File("s.sock"), async socket =>
        {
            // All four pieces of one 4 MiB read arrive before the first answer is sent.
            var requests = new List<(ulong Cookie, ulong Offset, uint Length)>();
            for (var i = 0; i < 4; i++)
            {
                requests.Add(await FakeServer.ReadRequestAsync(socket));
            }

            seen = requests.Count;
            requests.Reverse();
            foreach (var (cookie, offset, length) in requests)
            {
                await FakeServer.SendDataChunkAsync(socket, cookie, offset, Pattern(offset, (int)length), length);
            }

            await FakeServer.ReadRequestAsync(socket);
        });

        using var client = NbdClient.Connect(NbdUri.Parse(server.Uri), null);
        var buffer = new byte[4 << 20];
        await Task.Run(() => client.Read(0, buffer)).WaitAsync(s_limit);
        Assert.Equal(4, seen);
        Assert.Equal(Pattern(0, buffer.Length), buffer);
    }

    [Fact]
    public async Task Threads_share_one_connection_and_each_gets_its_own_data()
    {
        using var dir = new TempDirectory();
        await using var server = FakeServer.Start(dir.File("s.sock"), async socket =>
        {
            // Answer what has arrived in reverse order: take one request, then whatever else came meanwhile.
            while (true)
            {
                var batch = new List<(ulong Cookie, ulong Offset, uint Length)> { await FakeServer.ReadRequestAsync(socket) };
                await Task.Delay(5);
                while (socket.Available >= 28)
                {
                    batch.Add(await FakeServer.ReadRequestAsync(socket));
                }

                batch.Reverse();
                foreach (var (cookie, offset, length) in batch)
                {
                    if (length == 0)
                    {
                        return;
                    }

                    await FakeServer.SendDataChunkAsync(socket, cookie, offset, Pattern(offset, (int)length), length);
                }
            }
        });

        using var client = NbdClient.Connect(NbdUri.Parse(server.Uri), null);
        var reads = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 16; i++)
            {
                var offset = ((t * 16) + i) * 4096L;
                var buffer = new byte[4096];
                client.Read(offset, buffer);
                Assert.Equal(Pattern((ulong)offset, buffer.Length), buffer);
            }
        }));
        await Task.WhenAll(reads).WaitAsync(s_limit);
    }

    [Theory]
    [InlineData("bogus-handle")]
    [InlineData("oversized-chunk")]
    [InlineData("outside-range")]
    [InlineData("hang-up")]
    [InlineData("data-for-a-flush")]
    public async Task A_misbehaving_server_gives_one_error_and_no_hang(string misbehaviour)
    {
        using var dir = new TempDirectory();
        await using var server = FakeServer.Start(dir.File("s.sock"), async socket =>
        {
            var (cookie, offset, length) = await FakeServer.ReadRequestAsync(socket);
            switch (misbehaviour)
            {
                case "bogus-handle":
                    await FakeServer.SendDataChunkAsync(socket, cookie + 1000, offset, new byte[length], length);
                    break;
                case "oversized-chunk":
                    await FakeServer.SendDataChunkAsync(socket, cookie, offset, new byte[length + 1], length + 1);
                    break;
                case "outside-range":
                    await FakeServer.SendDataChunkAsync(socket, cookie, offset + 512, new byte[length], length);
                    break;
                case "hang-up":
                    socket.Shutdown(SocketShutdown.Both);
                    return;
                case "data-for-a-flush":
                    await FakeServer.SendDataChunkAsync(socket, cookie, 0, new byte[16], 16);
                    break;
            }

            // Keep the connection open until the client hangs up: it must not wait for more.
            while (await socket.ReceiveAsync(new byte[4096]) > 0)
            {
            }
        });

        using var client = NbdClient.Connect(NbdUri.Parse(server.Uri), null);
        Action act = misbehaviour == "data-for-a-flush" ? client.Flush : () => client.Read(0, new byte[65536]);
        var error = await Assert.ThrowsAnyAsync<Exception>(() => Task.Run(act).WaitAsync(s_limit));
        Assert.True(error is ImageAccessException or IOException, error.ToString());
        if (misbehaviour != "hang-up")
        {
            Assert.IsType<ImageAccessException>(error);
        }

        // The connection stays failed: the next request gets the same error at once.
        var again = await Assert.ThrowsAnyAsync<Exception>(() => Task.Run(() => client.Read(0, new byte[512])).WaitAsync(s_limit));
        Assert.Equal(error.Message, again.Message);
    }

    [Fact]
    public async Task An_error_chunk_fails_only_its_request()
    {
        using var dir = new TempDirectory();
        await using var server = FakeServer.Start(dir.File("s.sock"), async socket =>
        {
            var (cookie, _, _) = await FakeServer.ReadRequestAsync(socket);
            var chunk = new byte[20 + 6 + 4];
            FakeServer.ChunkHeader(chunk, cookie, NbdReplyType.Error, 10);
            BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(20), (uint)NbdError.NoSpace);
            BinaryPrimitives.WriteUInt16BigEndian(chunk.AsSpan(24), 4);
            "full"u8.CopyTo(chunk.AsSpan(26));
            await socket.SendAsync(chunk);
            var next = await FakeServer.ReadRequestAsync(socket);
            await FakeServer.SendDataChunkAsync(socket, next.Cookie, next.Offset, Pattern(next.Offset, (int)next.Length), next.Length);
            await FakeServer.ReadRequestAsync(socket);
        });

        using var client = NbdClient.Connect(NbdUri.Parse(server.Uri), null);
        var error = await Assert.ThrowsAsync<ImageAccessException>(() => Task.Run(() => client.Read(0, new byte[4096])).WaitAsync(s_limit));
        Assert.Equal("NBD read failed: No space left on device", error.Message);
        var buffer = new byte[4096];
        await Task.Run(() => client.Read(8192, buffer)).WaitAsync(s_limit);
        Assert.Equal(Pattern(8192, 4096), buffer);
    }

    [Fact]
    public async Task Mutated_replies_end_in_data_or_one_error()
    {
        // Mutation fuzzing of the reply parser: a valid reply (a data chunk and a hole chunk) with bytes
        // flipped, cut or inserted, then the server hangs up. Every mutant ends within the bound.
        var random = new Random(1515);
        for (var trial = 0; trial < 60; trial++)
        {
            using var dir = new TempDirectory();
            var seed = random.Next();
            await using var server = FakeServer.Start(dir.File("s.sock"), async socket =>
            {
                var (cookie, offset, _) = await FakeServer.ReadRequestAsync(socket);
                var reply = new byte[28 + 2048 + 32];
                FakeServer.ChunkHeader(reply, cookie, NbdReplyType.OffsetData, 8 + 2048);
                BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(4), 0);
                BinaryPrimitives.WriteUInt64BigEndian(reply.AsSpan(20), offset);
                FakeServer.ChunkHeader(reply.AsSpan(28 + 2048), cookie, NbdReplyType.OffsetHole, 12);
                BinaryPrimitives.WriteUInt64BigEndian(reply.AsSpan(28 + 2048 + 20), offset + 2048);
                BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(28 + 2048 + 28), 2048);
                await socket.SendAsync(Mutate(reply, new Random(seed)));
                socket.Shutdown(SocketShutdown.Send);
                while (await socket.ReceiveAsync(new byte[4096]) > 0)
                {
                }
            });

            using var client = NbdClient.Connect(NbdUri.Parse(server.Uri), null);
            try
            {
                await Task.Run(() => client.Read(0, new byte[4096])).WaitAsync(s_limit);
            }
            catch (Exception e) when (e is ImageAccessException or IOException)
            {
                // One clean error is a correct outcome.
            }
        }
    }

    private static byte[] Mutate(byte[] valid, Random random)
    {
        var data = valid.ToList();
        switch (random.Next(3))
        {
            case 0:
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    var at = random.Next(Math.Min(data.Count, 64)) + (random.Next(2) == 0 ? 0 : 28 + 2048 - 4);
                    data[Math.Min(at, data.Count - 1)] ^= (byte)random.Next(1, 256);
                }

                break;
            case 1:
                data.RemoveRange(random.Next(data.Count), 1);
                break;
            default:
                data.InsertRange(random.Next(data.Count), Enumerable.Repeat((byte)random.Next(256), random.Next(1, 9)));
                break;
        }

        return [.. data];
    }

    private static byte[] Pattern(ulong offset, int length)
    {
        var data = new byte[length];
        for (var i = 0; i < length; i++)
        {
            data[i] = unchecked((byte)(((long)offset + i) * 31 >> 9));
        }

        return data;
    }

    /// <summary>Just enough of a fixed newstyle server (structured replies, one export) to script a transmission phase.</summary>
    private sealed class FakeServer : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly Task _session;

        private FakeServer(Socket listener, Task session, string path)
        {
            _listener = listener;
            _session = session;
            Uri = $"nbd+unix:///?socket={path}";
        }

        public string Uri { get; }

        public static FakeServer Start(string path, Func<Socket, Task> transmission)
        {
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);
            var session = Task.Run(async () =>
            {
                using var socket = await listener.AcceptAsync();
                try
                {
                    await HandshakeAsync(socket);
                    await transmission(socket);
                }
                catch (Exception e) when (e is SocketException or EndOfStreamException or IOException)
                {
                    // The client hung up after its error.
                }
            });
            return new FakeServer(listener, session, path);
        }

        private static async Task HandshakeAsync(Socket socket)
        {
            var greeting = new byte[18];
            BinaryPrimitives.WriteUInt64BigEndian(greeting, NbdConstants.NbdMagic);
            BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), NbdConstants.OptionMagic);
            BinaryPrimitives.WriteUInt16BigEndian(greeting.AsSpan(16), NbdConstants.FlagFixedNewstyle | NbdConstants.FlagNoZeroes);
            await socket.SendAsync(greeting);
            await ReceiveExactlyAsync(socket, new byte[4]);
            while (true)
            {
                var header = new byte[16];
                await ReceiveExactlyAsync(socket, header);
                var option = (NbdOption)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
                await ReceiveExactlyAsync(socket, new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12))]);
                if (option == NbdOption.Go)
                {
                    var info = new byte[12];
                    BinaryPrimitives.WriteUInt64BigEndian(info.AsSpan(2), ExportSize);
                    BinaryPrimitives.WriteUInt16BigEndian(info.AsSpan(10), (ushort)(NbdTransmissionFlags.HasFlags | NbdTransmissionFlags.SendFlush));
                    await socket.SendAsync(OptionReply(option, NbdOptionReply.Info, info));
                    await socket.SendAsync(OptionReply(option, NbdOptionReply.Ack, []));
                    return;
                }

                await socket.SendAsync(OptionReply(option, NbdOptionReply.Ack, []));
            }
        }

        private static byte[] OptionReply(NbdOption option, NbdOptionReply type, byte[] data)
        {
            var reply = new byte[20 + data.Length];
            BinaryPrimitives.WriteUInt64BigEndian(reply, NbdConstants.OptionReplyMagic);
            BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(8), (uint)option);
            BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(12), (uint)type);
            BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(16), (uint)data.Length);
            data.CopyTo(reply, 20);
            return reply;
        }

        /// <summary>The next request's cookie, offset and length; a disconnect reads as length 0.</summary>
        public static async Task<(ulong Cookie, ulong Offset, uint Length)> ReadRequestAsync(Socket socket)
        {
            var request = new byte[28];
            await ReceiveExactlyAsync(socket, request);
            var command = (NbdCommand)BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(6));
            var length = command == NbdCommand.Disconnect ? 0 : BinaryPrimitives.ReadUInt32BigEndian(request.AsSpan(24));
            return (BinaryPrimitives.ReadUInt64BigEndian(request.AsSpan(8)), BinaryPrimitives.ReadUInt64BigEndian(request.AsSpan(16)), length);
        }

        public static void ChunkHeader(Span<byte> header, ulong cookie, NbdReplyType type, uint length)
        {
            BinaryPrimitives.WriteUInt32BigEndian(header, NbdConstants.StructuredReplyMagic);
            BinaryPrimitives.WriteUInt16BigEndian(header[4..], 1);
            BinaryPrimitives.WriteUInt16BigEndian(header[6..], (ushort)type);
            BinaryPrimitives.WriteUInt64BigEndian(header[8..], cookie);
            BinaryPrimitives.WriteUInt32BigEndian(header[16..], length);
        }

        /// <summary>One data chunk with the done flag; <paramref name="declared"/> is the length the header claims.</summary>
        public static async Task SendDataChunkAsync(Socket socket, ulong cookie, ulong offset, byte[] data, uint declared)
        {
            var chunk = new byte[28 + data.Length];
            ChunkHeader(chunk, cookie, NbdReplyType.OffsetData, declared + 8);
            BinaryPrimitives.WriteUInt64BigEndian(chunk.AsSpan(20), offset);
            data.CopyTo(chunk, 28);
            await socket.SendAsync(chunk);
        }

        private static async Task ReceiveExactlyAsync(Socket socket, byte[] buffer)
        {
            for (var done = 0; done < buffer.Length;)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(done));
                if (n == 0)
                {
                    throw new EndOfStreamException();
                }

                done += n;
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Dispose();
            await _session.WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
