using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using DiskImage.IO.Nfs;

namespace DiskImage.Interop.Tests.Reliability;

/// <summary>
/// The NFS client's reply decoding under mutation: well-formed ONC RPC replies to each call the driver makes (MNT,
/// FSINFO, LOOKUP, READLINK, ACCESS, GETATTR, READ, WRITE, COMMIT, SETATTR, CREATE) are mutated and decoded; anything but a
/// result or <see cref="NfsProtocolException"/> is a finding, as is a READ giving more than was asked. Then a server
/// that answers with garbage, a huge record, or nothing, must get one clean error and no hang.
/// </summary>
public class NfsReplyFuzzTests
{
    private const uint Xid = 0x1234;

    private static readonly ulong[] s_interesting = [0, 1, 0x40, 0x41, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000];

    [Fact]
    public void Mutated_replies_decode_or_fail_cleanly()
    {
        var mutator = new ByteMutator(ByteMutator.Seed(0x6e667333), 4, s_interesting);
        var failures = new List<string>();
        var cases = Cases();
        for (var i = 0; i < ByteMutator.Iterations(400) && failures.Count < 5; i++)
        {
            var (name, reply, decode) = cases[i % cases.Count];
            var (bytes, what) = mutator.Mutate(reply, [(0, reply.Length)]);
            try
            {
                decode(new Nfs3Client((_, _) => RpcReply.Open(bytes, Xid)), bytes);
            }
            catch (NfsProtocolException)
            {
                // A clean refusal.
            }
            catch (Exception e)
            {
                failures.Add($"#{i} {name} {what}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("huge")]
    [InlineData("close")]
    [InlineData("silent")]
    public async Task A_hostile_server_gets_one_clean_error_and_no_hang(string behaviour)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serving = Task.Run(() =>
        {
            using var client = listener.AcceptTcpClient();
            var stream = client.GetStream();
            var header = new byte[4];
            stream.ReadExactly(header);
            stream.ReadExactly(new byte[header[3] | (header[2] << 8)]);
            switch (behaviour)
            {
                case "garbage":
                    stream.Write([0x80, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
                    break;
                case "huge":
                    stream.Write([0x80, 0x7f, 0xff, 0xff, 0, 0, 0, 0]);
                    break;
                case "silent":
                    Thread.Sleep(6000);
                    break;
            }
        });

        var previous = RpcConnection.Timeout;
        RpcConnection.Timeout = TimeSpan.FromSeconds(3);
        var clock = Stopwatch.StartNew();
        try
        {
            using var connection = RpcConnection.Connect(IPAddress.Loopback, port, RpcCredentials.For(0, 0));
            var e = Assert.Throws<NfsProtocolException>(() => connection.Call(100003, 3, 1, w => w.Opaque(new byte[8])));
            Assert.DoesNotContain('\n', e.Message);
        }
        finally
        {
            RpcConnection.Timeout = previous;
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static List<(string Name, byte[] Reply, Action<Nfs3Client, byte[]> Decode)> Cases()
    {
        var handle = Handle();
        var file = NfsFileHandle.Read(new XdrReader(new XdrWriter().Opaque(new byte[32]).Written.ToArray()));
        var fattr = new Action<XdrWriter>(w =>
        {
            w.UInt32(1).UInt32(0x1a4).UInt32(1).UInt32(0).UInt32(0).UInt64(1 << 20).UInt64(1 << 20).UInt32(0).UInt32(0).UInt64(1).UInt64(2);
            for (var t = 0; t < 6; t++)
            {
                w.UInt32(0);
            }
        });
        var postOp = new Action<XdrWriter>(w =>
        {
            w.Bool(true);
            fattr(w);
        });
        var wcc = new Action<XdrWriter>(w =>
        {
            w.Bool(true).UInt64(1).UInt64(0).UInt64(0);
            postOp(w);
        });

        return
        [
            ("MNT", Reply(w => w.UInt32(0).Opaque(new byte[28]).UInt32(2).UInt32(1).UInt32(0)), (_, bytes) => MountClient.ReadMountReply(RpcReply.Open(bytes, Xid))),
            ("FSINFO", Reply(w =>
            {
                w.UInt32(0);
                postOp(w);
                w.UInt32(1 << 20).UInt32(1 << 20).UInt32(4096).UInt32(1 << 20).UInt32(1 << 20).UInt32(4096).UInt32(4096).UInt64(ulong.MaxValue).UInt32(0).UInt32(1).UInt32(0x1b);
            }), (c, _) => c.FsInfo(file, "/e")),
            ("LOOKUP", Reply(w =>
            {
                w.UInt32(0).Opaque(new byte[40]);
                postOp(w);
                postOp(w);
            }), (c, _) => c.Lookup(file, "a", "/a")),
            ("READLINK", Reply(w =>
            {
                w.UInt32(0);
                postOp(w);
                w.String("../target.qcow2");
            }), (c, _) => c.ReadLink(file, "/l")),
            ("ACCESS", Reply(w =>
            {
                w.UInt32(0);
                postOp(w);
                w.UInt32(5);
            }), (c, _) => c.Access(file, 5, "/a")),
            ("GETATTR", Reply(w =>
            {
                w.UInt32(0);
                fattr(w);
            }), (c, _) => c.GetAttributes(file)),
            ("READ", Reply(w =>
            {
                w.UInt32(0);
                postOp(w);
                w.UInt32(100).Bool(false).Opaque(new byte[100]);
            }), (c, _) =>
            {
                var buffer = new byte[100];
                var (count, _) = c.Read(file, 0, buffer);
                Assert.InRange(count, 0, 100);
            }),
            ("WRITE", Reply(w =>
            {
                w.UInt32(0);
                wcc(w);
                w.UInt32(64).UInt32(0).UInt64(7);
            }), (c, _) => Assert.InRange(c.Write(file, 0, new byte[64]), 1, 64)),
            ("COMMIT", Reply(w =>
            {
                w.UInt32(0);
                wcc(w);
                w.UInt64(7);
            }), (c, _) => c.Commit(file)),
            ("SETATTR", Reply(w =>
            {
                w.UInt32(0);
                wcc(w);
            }), (c, _) => c.SetSize(file, 4096)),
            ("CREATE", Reply(w =>
            {
                w.UInt32(0).Bool(true).Opaque(new byte[24]);
                postOp(w);
                wcc(w);
            }), (c, _) => c.Create(file, "n", 0x180, "/n")),
            ("error", Reply(w =>
            {
                w.UInt32(2);
                w.Bool(false);
            }), (c, _) => c.GetAttributes(handle)),
        ];
    }

    private static NfsFileHandle Handle() => NfsFileHandle.Read(new XdrReader(new XdrWriter().Opaque(new byte[8]).Written.ToArray()));

    private static byte[] Reply(Action<XdrWriter> results)
    {
        var writer = new XdrWriter().UInt32(Xid).UInt32(1).UInt32(0).UInt32(0).Opaque([]).UInt32(0);
        results(writer);
        return writer.Written.ToArray();
    }
}
