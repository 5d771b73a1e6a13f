using System.Text;
using DiskImage.Interop.Tests.Reliability;
using DiskImage.IO.Curl.Ftp;

namespace DiskImage.Interop.Tests.Curl;

/// <summary>
/// The FTP reply parser and the PASV/EPSV readers on mutated reply streams: they never throw, a complete reply takes no
/// more than it was given and no line longer than the limit, and the answer is the same whether the bytes come at once
/// or one by one (a reply found in a prefix is the reply; a malformed one stays malformed as bytes are added).
/// </summary>
public class FtpReplyFuzzTests
{
    private static readonly string[] s_seeds =
    [
        "220-Welcome to the server\r\n220-second line\r\n220 ready.\r\n331 Username ok, send password.\r\n230 Login successful.\r\n",
        "229 Entering extended passive mode (|||40023|).\r\n227 Entering passive mode (127,0,0,1,156,87).\r\n",
        "200 Type set to: Binary.\r\n213 524288\r\n350 Restarting at position 262144.\r\n150 File status okay.\r\n226 Transfer complete.\r\n",
        "550 No such file or directory.\n530 Authentication failed.\n426 Transfer aborted.\n",
    ];

    [Fact]
    public void Mutated_reply_streams_are_parsed_the_same_whole_and_byte_by_byte()
    {
        var mutator = new ByteMutator(ByteMutator.Seed(0x66747072), 4, [0, 1, 0x7fffffff, 0xffffffff, 0x30303030, 0x2d2d2d2d, 0x0d0a0d0a, 0x20303232, 0x0a2d3032]);
        var failures = new List<string>();
        for (var i = 0; i < ByteMutator.Iterations(2000) && failures.Count < 5; i++)
        {
            var seed = Encoding.ASCII.GetBytes(s_seeds[i % s_seeds.Length]);
            var (bytes, what) = mutator.Mutate(seed, [(0, seed.Length)]);
            try
            {
                if (Check(bytes) is { } failure)
                {
                    failures.Add($"#{i} {what}: {failure}");
                }
            }
            catch (Exception e)
            {
                failures.Add($"#{i} {what}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    /// <summary>Parses every reply in the stream, whole and then growing one byte at a time; null when all agree.</summary>
    private static string? Check(byte[] bytes)
    {
        var position = 0;
        while (position < bytes.Length)
        {
            var rest = bytes.AsSpan(position);
            var status = FtpReply.TryParse(rest, out var reply, out var consumed);
            if (status != FtpReplyStatus.Complete)
            {
                return status == FtpReplyStatus.NeedMore && consumed != 0 ? "NeedMore took bytes" : null;
            }

            if (consumed <= 0 || consumed > rest.Length || reply.Text.Length > FtpReply.MaxLineLength || reply.Code is < 100 or > 599)
            {
                return $"reply {reply.Code} took {consumed} of {rest.Length} bytes";
            }

            for (var n = 1; n <= consumed; n++)
            {
                var partial = FtpReply.TryParse(rest[..n], out var early, out var earlyConsumed);
                if (partial == FtpReplyStatus.Malformed || (partial == FtpReplyStatus.Complete && (n != consumed || early != reply || earlyConsumed != consumed)))
                {
                    return $"prefix of {n} bytes gave {partial} where the whole gave {reply.Code} after {consumed}";
                }
            }

            if (FtpPassiveReply.ParseEpsv(reply.Text) is { } epsv && epsv is < 1 or > 65535)
            {
                return $"EPSV port {epsv}";
            }

            if (FtpPassiveReply.ParsePasv(reply.Text) is { } pasv && pasv.Port is < 1 or > 65535)
            {
                return $"PASV port {pasv.Port}";
            }

            position += consumed;
        }

        return null;
    }
}
