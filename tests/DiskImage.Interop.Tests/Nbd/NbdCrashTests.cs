using System.Buffers.Binary;
using System.Net.Sockets;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Nbd;

/// <summary>SIGKILL of the server while a client writes with FUA: every acknowledged write survives and the qcow2 is not corrupt.</summary>
public class NbdCrashTests
{
    [Theory]
    [InlineData(5)]
    [InlineData(40)]
    [InlineData(90)]
    public void Acknowledged_fua_writes_survive_sigkill(int killAfter)
    {
        using var dir = new TempDirectory();
        var image = dir.File("crash.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "16M");
        var acknowledged = new List<int>();
        using (var server = NbdProcess.Diskimg(dir.File("s.sock"), 0, "-t", "-f", "qcow2", "-k", dir.File("s.sock"), image))
        using (var s = server.Connect())
        {
            Handshake(s);
            var payload = new byte[65536];
            for (var i = 0; i < 200; i++)
            {
                payload.AsSpan().Fill(Pattern(i));
                var request = new byte[28];
                BinaryPrimitives.WriteUInt32BigEndian(request, 0x25609513);
                BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(4), 1); // FUA
                BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), 1); // WRITE
                BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(8), (ulong)i);
                BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(16), (ulong)Offset(i));
                BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(24), (uint)payload.Length);
                s.Send(request);
                s.Send(payload);
                if (i == killAfter)
                {
                    // Killed with this write (and its allocation) in flight.
                    server.Kill();
                    break;
                }

                var reply = new byte[16];
                Receive(s, reply);
                Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4)));
                acknowledged.Add((int)BinaryPrimitives.ReadUInt64BigEndian(reply.AsSpan(8)));
            }
        }

        var check = ExternalTool.Run("qemu-img", "check", "-f", "qcow2", image);
        Assert.True(check.ExitCode is 0 or 3, $"qemu-img check exited {check.ExitCode}: {check.StdOut}{check.StdErr}");
        Assert.Equal(killAfter, acknowledged.Count);
        var commands = acknowledged.SelectMany(i => new[] { "-c", $"read -P {Pattern(i)} {Offset(i)} 64k" }).ToArray();
        var read = ExternalTool.QemuIo(["-f", "qcow2", "-r", .. commands, image]);
        Assert.DoesNotContain("fail", read, StringComparison.Ordinal);
    }

    /// <summary>
    /// Plain writes made durable by a later FLUSH, mixed with FUA writes: once the flush (or the FUA write) is
    /// acknowledged, SIGKILL must not lose the write, and the qcow2 stays free of corruption.
    /// </summary>
    [Theory]
    [InlineData(7)]
    [InlineData(60)]
    [InlineData(130)]
    public void Writes_acknowledged_by_fua_or_a_later_flush_survive_sigkill(int killAfter)
    {
        using var dir = new TempDirectory();
        var image = dir.File("crash.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "16M");
        var durable = new List<int>();
        var unflushed = new List<int>();
        using (var server = NbdProcess.Diskimg(dir.File("s.sock"), 0, "-t", "-f", "qcow2", "-k", dir.File("s.sock"), image))
        using (var s = server.Connect())
        {
            Handshake(s);
            var payload = new byte[65536];
            var reply = new byte[16];
            for (var i = 0; i < 200; i++)
            {
                // Writes 0, 3, 6, ... carry FUA; after every third write a FLUSH covers the plain ones.
                var fua = i % 3 == 0;
                payload.AsSpan().Fill(Pattern(i));
                s.Send(RequestHeader(1, fua ? (ushort)1 : (ushort)0, (ulong)i, (ulong)Offset(i), (uint)payload.Length));
                s.Send(payload);
                if (i == killAfter)
                {
                    server.Kill();
                    break;
                }

                Receive(s, reply);
                Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4)));
                (fua ? durable : unflushed).Add(i);
                if (i % 3 == 2)
                {
                    s.Send(RequestHeader(3, 0, 1000 + (ulong)i, 0, 0));
                    Receive(s, reply);
                    Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4)));
                    Assert.Equal(1000 + (ulong)i, BinaryPrimitives.ReadUInt64BigEndian(reply.AsSpan(8)));
                    durable.AddRange(unflushed);
                    unflushed.Clear();
                }
            }
        }

        var check = ExternalTool.Run("qemu-img", "check", "-f", "qcow2", image);
        Assert.True(check.ExitCode is 0 or 3, $"qemu-img check exited {check.ExitCode}: {check.StdOut}{check.StdErr}");
        Assert.True(durable.Count >= killAfter / 2, $"{durable.Count} durable writes before the kill at {killAfter}");
        var commands = durable.SelectMany(i => new[] { "-c", $"read -P {Pattern(i)} {Offset(i)} 64k" }).ToArray();
        var read = ExternalTool.QemuIo(["-f", "qcow2", "-r", .. commands, image]);
        Assert.DoesNotContain("fail", read, StringComparison.Ordinal);
        Assert.Equal(durable.Count, read.Split("read 65536/65536", StringSplitOptions.None).Length - 1);
    }

    private static byte[] RequestHeader(ushort command, ushort flags, ulong cookie, ulong offset, uint length)
    {
        var request = new byte[28];
        BinaryPrimitives.WriteUInt32BigEndian(request, 0x25609513);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), command);
        BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(8), cookie);
        BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(24), length);
        return request;
    }

    private static byte Pattern(int i) => (byte)((i % 250) + 1);

    private static long Offset(int i) => (long)((i * 37) % 240) << 16;

    private static void Handshake(Socket s)
    {
        Receive(s, new byte[18]);
        s.Send([0, 0, 0, 3]);
        var go = new byte[16 + 6];
        BinaryPrimitives.WriteUInt64BigEndian(go, 0x49484156454F5054);
        BinaryPrimitives.WriteUInt32BigEndian(go.AsSpan(8), 7);
        BinaryPrimitives.WriteUInt32BigEndian(go.AsSpan(12), 6);
        s.Send(go);
        while (true)
        {
            var header = new byte[20];
            Receive(s, header);
            Receive(s, new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16))]);
            if (BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12)) == 1)
            {
                return;
            }
        }
    }

    private static void Receive(Socket s, byte[] buffer)
    {
        for (var done = 0; done < buffer.Length;)
        {
            var n = s.Receive(buffer, done, buffer.Length - done, SocketFlags.None);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }

            done += n;
        }
    }
}
