using System.Buffers.Binary;
using System.Net.Sockets;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Nbd;
using DiskImage.Nbd.Client;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Nbd;

/// <summary>
/// Mutation fuzzing of the server's parsers: a valid client session (handshake, meta contexts, reads,
/// writes, block status) with bytes flipped, cut or inserted is played against an in-process server.
/// Every mutant must end within a bound, and the server must then serve a well-behaved client.
/// </summary>
public class NbdServerMutationTests
{
    [Theory]
    [InlineData("raw")]
    [InlineData("qcow2")]
    public async Task Mutated_sessions_never_stop_the_server(string format)
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk." + format);
        var content = Enumerable.Range(0, 1 << 20).Select(i => unchecked((byte)(i * 7))).ToArray();
        string[] bitmaps = [];
        if (format == "raw")
        {
            File.WriteAllBytes(path, content);
        }
        else
        {
            // A qcow2 exporting two dirty bitmaps: the mutants also hit the qemu:dirty-bitmap: meta contexts.
            Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = content.Length });
            using var setup = (Qcow2Image)ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false });
            setup.AddBitmap("b1", 4096);
            setup.AddBitmap("b2");
            setup.Write(0, content);
            bitmaps = ["b1", "b2"];
        }

        using var image = ImageFormatRegistry.Default.Open(path, format, new ImageOpenOptions { ReadOnly = false });
        var socketPath = dir.File("s.sock");
        var listeners = NbdListeners.Unix(socketPath);
        using var stop = new CancellationTokenSource();
        var server = new NbdServer(new NbdExport { Image = image, AllocationDepth = true, Bitmaps = bitmaps },
            new NbdServerOptions { MaxConnections = 0, Persistent = true, HandshakeTimeout = TimeSpan.FromSeconds(2) });
        var running = server.RunAsync(listeners, stop.Token);
        try
        {
            var session = ValidSession(bitmaps);
            var random = new Random(15);
            for (var trial = 0; trial < 200; trial++)
            {
                var mutant = Mutate(session, random);
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
                using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                var reader = DrainAsync(socket, drain.Token);
                try
                {
                    await socket.SendAsync(mutant, SocketFlags.None, drain.Token);
                    socket.Shutdown(SocketShutdown.Send);
                }
                catch (SocketException)
                {
                    // The server may hang up before the whole mutant is sent.
                }

                await reader;
                Assert.False(running.IsCompleted, $"server stopped after mutant {trial}");
            }

            // A well-behaved client still gets the image's bytes (mutants may have written anywhere).
            using var client = NbdClient.Connect(NbdUri.Parse($"nbd+unix:///?socket={socketPath}"), null);
            var buffer = new byte[1 << 20];
            client.Read(0, buffer);
            var expected = new byte[1 << 20];
            image.Read(0, expected);
            Assert.Equal(expected, buffer);
        }
        finally
        {
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(30));
            foreach (var l in listeners)
            {
                l.Dispose();
            }
        }
    }

    private static async Task DrainAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[65536];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken) > 0)
            {
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // A mutant the server neither answers nor closes ends at the bound; the server is checked next.
        }
    }

    private static byte[] Mutate(byte[] session, Random random)
    {
        var bytes = session.ToList();
        var edits = 1 + random.Next(4);
        for (var i = 0; i < edits; i++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 2:
                    bytes.RemoveRange(at, Math.Min(random.Next(1, 16), bytes.Count - at));
                    break;
                default:
                    bytes.InsertRange(at, [0xff, 0xff, 0xff, 0xf0]);
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>What a good client sends: flags, structured replies, meta contexts, GO, then requests and DISC.</summary>
    private static byte[] ValidSession(string[] bitmaps)
    {
        var s = new List<byte>();
        void U16(int v) { var b = new byte[2]; BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)v); s.AddRange(b); }
        void U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(b, v); s.AddRange(b); }
        void U64(ulong v) { var b = new byte[8]; BinaryPrimitives.WriteUInt64BigEndian(b, v); s.AddRange(b); }
        void Option(uint option, byte[] data) { U64(NbdConstants.OptionMagic); U32(option); U32((uint)data.Length); s.AddRange(data); }
        void Request(ushort flags, ushort command, ulong offset, uint length) { U32(NbdConstants.RequestMagic); U16(flags); U16(command); U64(1); U64(offset); U32(length); }

        U32(3);
        Option(8, []);
        Option(3, []);
        string[] contexts = [NbdConstants.BaseAllocation, NbdConstants.AllocationDepth, .. bitmaps.Select(b => NbdConstants.DirtyBitmapPrefix + b)];
        var meta = new List<byte> { 0, 0, 0, 0, 0, 0, 0, (byte)contexts.Length };
        foreach (var name in contexts)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b, (uint)name.Length);
            meta.AddRange(b);
            meta.AddRange(System.Text.Encoding.ASCII.GetBytes(name));
        }

        if (bitmaps.Length > 0)
        {
            // LIST with a namespace-only query first, as clients probe.
            Option(9, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 18, .. "qemu:dirty-bitmap:"u8]);
        }

        Option(10, [.. meta]);
        Option(7, [0, 0, 0, 0, 0, 2, 0, 3, 0, 2]);
        Request(0, 0, 0, 65536);
        Request(4, 0, 4096, 512);
        Request(1, 1, 8192 + 65536, 16);
        s.AddRange(new byte[16]);
        Request(0, 7, 0, 1 << 20);
        Request(8, 7, 0, 1 << 20);
        Request(0, 6, 200000, 4096);
        Request(0, 3, 0, 0);
        Request(0, 2, 0, 0);
        return [.. s];
    }
}
