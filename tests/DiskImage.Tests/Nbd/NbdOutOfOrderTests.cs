using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.IO;
using DiskImage.Nbd;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Nbd;

/// <summary>
/// Out-of-order replies: a slow request does not hold back the fast ones behind it, every request is answered
/// exactly once with the right data under random pipelined streams, and a disconnect waits for what is in flight.
/// </summary>
public class NbdOutOfOrderTests
{
    [Fact]
    public void A_read_behind_a_slow_flush_is_answered_first_and_disc_waits_for_the_flush()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.raw");
        File.WriteAllBytes(path, Enumerable.Range(0, 1 << 20).Select(i => (byte)(i % 251)).ToArray());
        using var inner = ImageFormatRegistry.Default.Open(path, "raw", new ImageOpenOptions { ReadOnly = false });
        using var image = new GatedImage(inner);
        using var server = new InProcessServer(dir, image);
        using var client = NbdRawClient.Connect(server.SocketPath);

        client.Send(NbdCommand.Flush, 0, 1, 0, 0);
        Assert.True(image.FlushEntered.Wait(TimeSpan.FromSeconds(30)), "the flush never reached the image");
        client.Send(NbdCommand.Read, 0, 2, 4096, 4096);
        var first = client.Receive(c => c == 2 ? (4096, 4096) : null);

        // The flush is still held in the image, so the read can only have been answered before it.
        Assert.NotNull(first);
        Assert.Equal(2ul, first.Cookie);
        Assert.Equal(Enumerable.Range(4096, 4096).Select(i => (byte)(i % 251)), first.Data!);

        // DISC while the flush is in flight: its reply still comes, then the server hangs up.
        client.Send(NbdCommand.Disconnect, 0, 3, 0, 0);
        Thread.Sleep(100);
        image.Release.Set();
        var second = client.Receive(_ => null);
        Assert.NotNull(second);
        Assert.Equal((1ul, 0u), (second.Cookie, second.Error));
        Assert.Null(client.Receive(_ => null));
    }

    [Fact]
    public void A_read_behind_a_slow_large_write_is_answered_first()
    {
        using var dir = new TempDirectory();
        var path = dir.File("disk.raw");
        File.WriteAllBytes(path, new byte[16 << 20]);
        using var inner = ImageFormatRegistry.Default.Open(path, "raw", new ImageOpenOptions { ReadOnly = false });
        using var image = new GatedImage(inner) { GateWritesFrom = 1 << 20 };
        using var server = new InProcessServer(dir, image);
        using var client = NbdRawClient.Connect(server.SocketPath);

        var payload = new byte[8 << 20];
        payload.AsSpan().Fill(0x5a);
        client.Send(NbdCommand.Write, 0, 1, 8 << 20, (uint)payload.Length, payload);
        Assert.True(image.WriteEntered.Wait(TimeSpan.FromSeconds(30)), "the write never reached the image");
        client.Send(NbdCommand.Read, 0, 2, 0, 512);
        var first = client.Receive(c => c == 2 ? (0, 512) : null);
        Assert.NotNull(first);
        Assert.Equal(2ul, first.Cookie);
        image.Release.Set();
        var second = client.Receive(_ => null);
        Assert.Equal((1ul, 0u), (second!.Cookie, second.Error));
        client.Send(NbdCommand.Read, 0, 3, 8 << 20, 4096);
        Assert.All(client.Receive(_ => (8 << 20, 4096))!.Data!, b => Assert.Equal(0x5a, b));
    }

    [Theory]
    [InlineData("raw", 1)]
    [InlineData("qcow2", 2)]
    [InlineData("qcow2", 3)]
    public void Random_pipelined_streams_answer_every_request_once_with_the_model_data(string format, int seed)
    {
        const int size = 8 << 20;
        using var dir = new TempDirectory();
        var path = dir.File("disk." + format);
        if (format == "raw")
        {
            File.WriteAllBytes(path, new byte[size]);
        }
        else
        {
            Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = size });
        }

        var model = new byte[size];
        var known = new bool[size];
        Array.Fill(known, true);
        using (var image = ImageFormatRegistry.Default.Open(path, format, new ImageOpenOptions { ReadOnly = false }))
        using (var server = new InProcessServer(dir, image, NbdDiscardMode.Unmap))
        using (var client = NbdRawClient.Connect(server.SocketPath))
        {
            RunRandomStream(client, model, known, new Random(seed), 600);
        }

        // What the server left in the image is the model, wherever the model knows.
        using var reopened = ImageFormatRegistry.Default.Open(path, format, new ImageOpenOptions());
        var actual = new byte[size];
        reopened.Read(0, actual);
        for (var i = 0; i < size; i++)
        {
            if (known[i] && actual[i] != model[i])
            {
                Assert.Fail($"byte {i}: image has {actual[i]}, model {model[i]}");
            }
        }

        if (reopened is Qcow2Image qcow2)
        {
            var counts = qcow2.Check(DiskImage.Operations.Check.CheckRepair.None);
            Assert.Equal((0L, 0L, 0L), (counts.CheckErrors, counts.Corruptions, counts.Leaks));
        }
    }

    /// <summary>
    /// Sends <paramref name="count"/> random requests with up to 32 in flight, never one whose range conflicts
    /// with a write, trim or zero write in flight (the order of those is the server's to choose); the model takes
    /// each change when it is sent, so a read's expected bytes are fixed while it is in flight.
    /// </summary>
    private static void RunRandomStream(NbdRawClient client, byte[] model, bool[] known, Random random, int count)
    {
        var gate = new object();
        var inFlight = new Dictionary<ulong, Pending>();
        var answered = new HashSet<ulong>();
        Exception? receiveFailure = null;
        var receiver = new Thread(() =>
        {
            try
            {
                while (client.Receive(c =>
                       {
                           lock (gate)
                           {
                               return inFlight.TryGetValue(c, out var p) && p.Command == NbdCommand.Read ? ((ulong)p.Offset, p.Length) : null;
                           }
                       }) is { } reply)
                {
                    lock (gate)
                    {
                        Assert.True(inFlight.Remove(reply.Cookie, out var pending), $"reply for cookie {reply.Cookie} not in flight");
                        Assert.True(answered.Add(reply.Cookie), $"cookie {reply.Cookie} answered twice");
                        Assert.Equal(0u, reply.Error);
                        if (pending.Expected is { } expected)
                        {
                            for (var i = 0; i < expected.Length; i++)
                            {
                                if (pending.Known![i] && reply.Data![i] != expected[i])
                                {
                                    Assert.Fail($"read {reply.Cookie} at {pending.Offset}: byte {i} is {reply.Data[i]}, expected {expected[i]}");
                                }
                            }
                        }

                        Monitor.PulseAll(gate);
                    }
                }
            }
            catch (Exception e)
            {
                receiveFailure = e;
                lock (gate)
                {
                    Monitor.PulseAll(gate);
                }
            }
        });
        receiver.Start();

        for (ulong cookie = 1; cookie <= (ulong)count; cookie++)
        {
            var kind = random.Next(10);
            var command = kind switch
            {
                < 4 => NbdCommand.Read,
                < 7 => NbdCommand.Write,
                7 => NbdCommand.WriteZeroes,
                8 => NbdCommand.Trim,
                _ => NbdCommand.Flush,
            };
            var length = command == NbdCommand.Flush ? 0
                : random.Next(3) == 0 ? random.Next(300 << 10, 2 << 20)
                : random.Next(1, 70 << 10);
            var offset = command == NbdCommand.Flush ? 0 : random.Next(model.Length - length);
            var flags = command is NbdCommand.Write or NbdCommand.WriteZeroes && random.Next(4) == 0 ? NbdCommandFlags.Fua : 0;
            var pending = new Pending(command, offset, length);
            byte[] payload = [];
            lock (gate)
            {
                while (receiveFailure is null && (inFlight.Count >= 32 || inFlight.Values.Any(p => p.Conflicts(pending))))
                {
                    Monitor.Wait(gate);
                }

                Assert.Null(receiveFailure);
                switch (command)
                {
                    case NbdCommand.Read:
                        pending = pending with { Expected = model[offset..(offset + length)], Known = known[offset..(offset + length)] };
                        break;
                    case NbdCommand.Write:
                        payload = new byte[length];
                        random.NextBytes(payload);
                        payload.CopyTo(model, offset);
                        known.AsSpan(offset, length).Fill(true);
                        break;
                    case NbdCommand.WriteZeroes:
                        model.AsSpan(offset, length).Clear();
                        known.AsSpan(offset, length).Fill(true);
                        break;
                    case NbdCommand.Trim:
                        // After a trim the protocol leaves the contents to the server.
                        known.AsSpan(offset, length).Clear();
                        break;
                }

                inFlight.Add(cookie, pending);
            }

            client.Send(command, flags, cookie, (ulong)offset, (uint)length, payload);
        }

        // DISC right behind the last request: the server must still answer everything, then hang up.
        client.Send(NbdCommand.Disconnect, 0, 0, 0, 0);
        Assert.True(receiver.Join(TimeSpan.FromSeconds(120)), "replies stopped coming");
        Assert.Null(receiveFailure);
        Assert.Empty(inFlight);
        Assert.Equal(count, answered.Count);
    }

    private sealed record Pending(NbdCommand Command, int Offset, int Length)
    {
        public byte[]? Expected { get; init; }

        public bool[]? Known { get; init; }

        private bool Changes => Command is NbdCommand.Write or NbdCommand.WriteZeroes or NbdCommand.Trim;

        public bool Conflicts(Pending other) =>
            (Changes || other.Changes) && Offset < other.Offset + other.Length && other.Offset < Offset + Length;
    }

    /// <summary>An export served on a Unix socket in this process for the length of a test.</summary>
    private sealed class InProcessServer : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly IReadOnlyList<System.Net.Sockets.Socket> _listeners;
        private readonly Task _running;

        public InProcessServer(TempDirectory dir, IDiskImage image, NbdDiscardMode discard = NbdDiscardMode.Ignore)
        {
            SocketPath = dir.File("s.sock");
            _listeners = NbdListeners.Unix(SocketPath);
            var server = new NbdServer(new NbdExport { Image = image, Discard = discard },
                new NbdServerOptions { MaxConnections = 0, Persistent = true });
            _running = server.RunAsync(_listeners, _stop.Token);
        }

        public string SocketPath { get; }

        public void Dispose()
        {
            _stop.Cancel();
            _running.Wait(TimeSpan.FromSeconds(30));
            foreach (var listener in _listeners)
            {
                listener.Dispose();
            }

            _stop.Dispose();
        }
    }

    /// <summary>An image whose flushes (and writes from a given size) wait until the test lets them go.</summary>
    private sealed class GatedImage(IDiskImage inner) : IDiskImage
    {
        public ManualResetEventSlim FlushEntered { get; } = new();

        public ManualResetEventSlim WriteEntered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public int GateWritesFrom { get; init; } = int.MaxValue;

        public IImageFormat Format => inner.Format;

        public string FilePath => inner.FilePath;

        public IDiskImage? Backing => null;

        public long Length => inner.Length;

        public bool CanWrite => inner.CanWrite;

        public ImageInfo GetInfo() => inner.GetInfo();

        public void Read(long offset, Span<byte> buffer) => inner.Read(offset, buffer);

        public void Write(long offset, ReadOnlySpan<byte> data)
        {
            if (data.Length >= GateWritesFrom)
            {
                WriteEntered.Set();
                Assert.True(Release.Wait(TimeSpan.FromSeconds(30)));
            }

            inner.Write(offset, data);
        }

        public void WriteZeroes(long offset, long length, bool mayUnmap) => inner.WriteZeroes(offset, length, mayUnmap);

        public void Discard(long offset, long length) => inner.Discard(offset, length);

        public void Flush()
        {
            FlushEntered.Set();
            Assert.True(Release.Wait(TimeSpan.FromSeconds(30)));
            inner.Flush();
        }

        public IReadOnlyList<Extent> GetExtents(long offset, long length) => inner.GetExtents(offset, length);

        public void Dispose()
        {
            Release.Set();
            FlushEntered.Dispose();
            WriteEntered.Dispose();
        }
    }
}
