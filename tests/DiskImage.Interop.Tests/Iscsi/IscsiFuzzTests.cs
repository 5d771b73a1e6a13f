using System.Diagnostics;
using DiskImage.Interop.Tests.Reliability;
using DiskImage.IO.Iscsi;

namespace DiskImage.Interop.Tests.Iscsi;

/// <summary>
/// The iSCSI initiator against a hostile target: each PDU a well-behaved fake target sends (login responses, Data-In,
/// R2T, SCSI Response, NOP-In) is mutated in turn by the format fuzzers' mutator, and open, read, write, block status,
/// flush, discard and close must end in success or one <see cref="DiskImageException"/>, quickly, never a hang or a
/// crash. The PDU decoder and the login key parser are fuzzed on their own too.
/// </summary>
public class IscsiFuzzTests
{
    private static readonly ulong[] Interesting = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0xffffff, 0x1000000, 0x7fffffff, 0x80000000, 0xffffffff];

    [Fact]
    public void Mutated_target_pdus_fail_cleanly()
    {
        using var target = new FakeIscsiTarget();
        var url = $"json:{{\"driver\":\"iscsi\",\"transport\":\"tcp\",\"portal\":\"127.0.0.1:{target.Port}\",\"target\":\"iqn.t\",\"lun\":1,\"timeout\":3}}";
        var node = IscsiNode.FromName(IscsiNode.NameOf(IscsiNode.Parse(System.Text.Json.JsonDocument.Parse(url["json:".Length..]).RootElement.EnumerateObject()
            .Select(p => new KeyValuePair<string, DiskImage.Options.JsonScalar>(p.Name, p.Value.ValueKind == System.Text.Json.JsonValueKind.Number
                ? new DiskImage.Options.JsonScalar(DiskImage.Options.JsonScalarKind.Integer, p.Value.GetRawText())
                : DiskImage.Options.JsonScalar.String(p.Value.GetString()!))))));

        // A clean pass first: it must work, and it tells how many PDUs a pass takes.
        target.Reset();
        // The first pass also compiles the initiator: it gets time to, which the mutants (a broken one must not wait) do not.
        target.IdleMilliseconds = 10000;
        var clean = Exercise(node, mustSucceed: true);
        Assert.True(clean is null, clean);
        target.IdleMilliseconds = 300;
        var pdus = target.Sent;
        Assert.True(pdus > 15, $"only {pdus} PDUs in a pass");

        var mutator = new ByteMutator(ByteMutator.Seed(20261202), 4, Interesting);
        var failures = new List<string>();
        var iterations = ByteMutator.Iterations(2 * pdus);
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var victim = i % pdus;
            var what = "";
            target.Mutate = (index, bytes) =>
            {
                if (index != victim)
                {
                    return bytes;
                }

                (var mutant, what) = mutator.Mutate(bytes, [(0, bytes.Length)]);
                return mutant;
            };
            target.Reset();
            if (Exercise(node) is { } failure)
            {
                failures.Add($"#{i} PDU {victim} {what}: {failure}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary>One pass: null when it ends in success or a clean error within the limit, else what went wrong.</summary>
    private static string? Exercise(IscsiTarget node, bool mustSucceed = false)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var lun = IscsiStorage.Open(node, writable: true);
            var buffer = new byte[20000];
            lun.Read(1000, buffer);
            lun.Write(700, new byte[9000]);
            _ = lun.GetExtents(0, 256 << 10);
            lun.Flush();
            lun.Discard(0, 64 << 10);
            lun.WriteZeroes(0, 4096, mayUnmap: true);
        }
        catch (DiskImageException e) when (!mustSucceed)
        {
            _ = e;
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }

        return clock.Elapsed > TimeSpan.FromSeconds(10) ? $"took {clock.Elapsed.TotalSeconds:F1} s" : null;
    }

    [Fact]
    public void Mutated_pdus_and_login_keys_decode_or_are_refused()
    {
        var pdu = new IscsiPdu(IscsiOpcode.LoginResponse) { Flags = 0x87, Data = "HeaderDigest=None\0MaxRecvDataSegmentLength=8192\0CHAP_C=0x0102\0"u8.ToArray() }.Encode(false);
        var mutator = new ByteMutator(ByteMutator.Seed(7143), 4, Interesting);
        for (var i = 0; i < ByteMutator.Iterations(2000); i++)
        {
            var (bytes, _) = mutator.Mutate(pdu, [(0, pdu.Length)]);
            var decoded = IscsiPdu.Decode(bytes, 8192);
            if (decoded is null)
            {
                continue;
            }

            Assert.True(decoded.Data.Length <= 8192);
            if (IscsiTextKeys.Parse(decoded.Data) is { } keys)
            {
                Assert.True(keys.Count <= IscsiTextKeys.MaxPairs);
                try
                {
                    _ = IscsiLogin.Operational(keys);
                }
                catch (IscsiProtocolException)
                {
                }

                _ = keys.Where(k => k.Key == "CHAP_C").Select(k => IscsiLogin.ChapBytes(k.Value)).ToList();
            }

            _ = ScsiSense.FromResponseData(decoded.Data)?.ToString();
        }
    }
}
