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
