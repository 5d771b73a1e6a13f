using System.Diagnostics;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Reliability;

namespace DiskImage.Interop.Tests.Curl;

/// <summary>
/// FTP servers that answer wrongly (a line or a multi-line reply without end, no FTP at all, a PASV reply naming
/// another host, short data, a size of 2^62, a transfer that never sends) and replies mutated at random: each open or
/// read ends in one clean error line, or in the right bytes, within the node's timeout. These are not compared with
/// qemu, whose libcurl waits out some of them or copies what it gets.
/// </summary>
public class FtpHostileServerTests(CurlImages images) : IClassFixture<CurlImages>
{
    [Theory]
    [InlineData(FtpBehaviour.EndlessLine, "CURL: Error opening file: Weird server reply")]
    [InlineData(FtpBehaviour.EndlessMultiline, "CURL: Error opening file: Weird server reply")]
    [InlineData(FtpBehaviour.Garbage, "CURL: Error opening file: Weird server reply")]
    [InlineData(FtpBehaviour.ShortData, "curl: Received only partial file: 4096 bytes")]
    [InlineData(FtpBehaviour.StallData, "curl: Operation timed out after ")]
    [InlineData(FtpBehaviour.BadEpsv, "curl: Weirdly formatted EPSV reply")]
    public void A_misbehaving_server_gets_one_clear_error(FtpBehaviour behaviour, string expected)
    {
        using var server = new ScriptedFtpServer(images.Directory, behaviour);
        var watch = Stopwatch.StartNew();
        var result = Diskimg.Run("io", "-r", "-f", "raw", "-c", "read 0 64k",
            $"json:{{\"driver\":\"raw\",\"file\":{{\"driver\":\"ftp\",\"url\":\"{server.Url("disk.raw")}\",\"timeout\":1}}}}");
        HostileRead.AssertOneCleanError(result, expected, watch.Elapsed);
        Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("curl", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void A_pasv_reply_naming_another_host_is_answered_by_the_control_peer()
    {
        using var server = new ScriptedFtpServer(images.Directory, FtpBehaviour.ForeignPasvHost);
        var result = Diskimg.Run("io", "-r", "-f", "raw", "-c", "read -P 0x33 64k 64k", server.Url("disk.raw"));
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("read 65536/65536 bytes at offset 65536", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("PASV", server.Commands);
    }

    [Fact]
    public void A_huge_size_is_taken_and_reads_past_the_real_end_fail_cleanly()
    {
        using var server = new ScriptedFtpServer(images.Directory, FtpBehaviour.HugeSize);
        Assert.Contains("virtual size: 4 EiB", Diskimg.Ok("info", "-f", "raw", server.Url("disk.raw")), StringComparison.Ordinal);
        var result = Diskimg.Run("io", "-r", "-f", "raw", "-c", "read -P 0x33 64k 4k", "-c", "read 3M 64k", server.Url("disk.raw"));
        Assert.Contains("read 4096/4096 bytes at offset 65536", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("curl: Received only partial file: 0 bytes", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("read failed: Input/output error", result.StdOut + result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Ranges_reuse_one_logged_in_connection()
    {
        using var server = new ScriptedFtpServer(images.Directory);
        var commands = Enumerable.Range(0, 8).SelectMany(i => new[] { "-c", $"read -P 0x33 {(i * 64) + 64}k 4k" }).ToArray();
        Diskimg.Ok(["io", "-r", "-f", "raw", .. commands, $"json:{{\"driver\":\"raw\",\"file\":{{\"driver\":\"ftp\",\"url\":\"{server.Url("disk.raw")}\",\"readahead\":\"0\"}}}}"]);
        Assert.Equal(8, server.Commands.Count(c => c.StartsWith("RETR", StringComparison.Ordinal)));
        Assert.Equal(1, server.Commands.Count(c => c.StartsWith("USER", StringComparison.Ordinal)));
    }

    [Fact]
    public void Mutated_replies_give_the_right_bytes_or_a_clean_error()
    {
        var original = File.ReadAllBytes(Path.Combine(images.Directory, "disk.raw"));
        var mutator = new ByteMutator(ByteMutator.Seed(0x66747021), 4, [0, 1, 0x7fffffff, 0xffffffff, 0x30303030, 0x2d2d2d2d, 0x0d0a0d0a, 0x20323239]);
        using var server = new ScriptedFtpServer(images.Directory);
        var failures = new List<string>();
        for (var i = 0; i < ByteMutator.Iterations(30) && failures.Count < 5; i++)
        {
            var what = "";
            var target = i % 6;
            var replies = 0;
            server.RewriteReply = reply =>
            {
                // One reply of the session is mutated: the welcome, the login, SIZE, EPSV, REST or RETR's.
                if (replies++ != target || reply.Length <= 4)
                {
                    return reply;
                }

                var (bytes, change) = mutator.Mutate(reply, [(0, reply.Length)]);
                what = $"reply {target}: {change}";
                return bytes;
            };

            // A SIZE reply mutated into another number is a size no client can doubt: the bytes before it must be
            // the file's, those after it zeroes.
            var failure = HostileRead.ReadsRightOrRefuses("ftp", server.Url("disk.raw"), (offset, length) =>
            {
                var expected = new byte[4096];
                original.AsSpan((int)offset, (int)Math.Clamp(length - offset, 0, 4096)).CopyTo(expected);
                return expected;
            });
            if (failure is not null)
            {
                failures.Add($"#{i} {what}: {failure}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}
