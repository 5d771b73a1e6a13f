using System.Diagnostics;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Reliability;

namespace DiskImage.Interop.Tests.Curl;

/// <summary>
/// Servers that answer wrongly (a range other than the one asked for, a short body, a size of 2^62, endless
/// redirects, no answer) and response heads mutated at random: each read ends in a clean error line, or in the right
/// bytes, within the node's timeout. qemu's driver copies a wrong range as data or asserts on a short one, so these
/// are not compared with it.
/// </summary>
public class CurlHostileServerTests(CurlImages images) : IClassFixture<CurlImages>
{
    [Theory]
    [InlineData(ServerBehaviour.WrongRange, "curl: Server answered the range request for bytes 0-")]
    [InlineData(ServerBehaviour.ShortBody, "curl: transfer closed with ")]
    [InlineData(ServerBehaviour.RedirectLoop, "CURL: Error opening file: Maximum (20) redirects followed")]
    [InlineData(ServerBehaviour.StallReads, "curl: Operation timed out after ")]
    public void A_misbehaving_server_gets_one_clear_error(ServerBehaviour behaviour, string expected)
    {
        using var server = new RangeHttpServer(images.Directory, behaviour: behaviour);
        var watch = Stopwatch.StartNew();
        var result = Diskimg.Run("io", "-r", "-f", "raw", "-c", "read 0 64k",
            $"json:{{\"driver\":\"raw\",\"file\":{{\"driver\":\"http\",\"url\":\"{server.Url("disk.raw")}\",\"timeout\":1}}}}");
        HostileRead.AssertOneCleanError(result, expected, watch.Elapsed);
    }

    [Fact]
    public void A_huge_length_is_taken_and_reads_past_the_real_end_fail_cleanly()
    {
        using var server = new RangeHttpServer(images.Directory, behaviour: ServerBehaviour.HugeLength);
        Assert.Contains("virtual size: 4 EiB", Diskimg.Ok("info", "-f", "raw", server.Url("disk.raw")), StringComparison.Ordinal);
        var result = Diskimg.Run("io", "-r", "-f", "raw", "-c", "read -P 0x33 64k 4k", "-c", "read 3M 64k", server.Url("disk.raw"));
        Assert.Contains("read 4096/4096 bytes at offset 65536", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("curl: Server answered the range request for bytes 3145728-", result.StdErr, StringComparison.Ordinal);
        Assert.Contains("read failed: Input/output error", result.StdOut + result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Mutated_response_heads_give_the_right_bytes_or_a_clean_error()
    {
        var original = File.ReadAllBytes(Path.Combine(images.Directory, "disk.raw"));
        var mutator = new ByteMutator(ByteMutator.Seed(0x6375726c), 4, [0, 1, 0x7fffffff, 0xffffffff, 0x30303030, 0x2d2d2d2d, 0x0d0a0d0a]);
        using var server = new RangeHttpServer(images.Directory);
        var failures = new List<string>();
        for (var i = 0; i < ByteMutator.Iterations(40) && failures.Count < 5; i++)
        {
            var what = "";
            var extended = false;
            server.RewriteHead = head =>
            {
                var (bytes, change) = mutator.Mutate(head, [(0, head.Length)]);
                what = change;
                extended |= bytes.Length > head.Length;
                return bytes;
            };

            // A head made longer sends bytes that HTTP's framing makes part of the body, announced length and all:
            // no client can tell them from data, so only the other mutants must give the file's bytes.
            var failure = HostileRead.ReadsRightOrRefuses("http", server.Url("disk.raw"),
                (offset, _) => extended ? null : original.AsSpan((int)offset, 4096).ToArray());
            if (failure is not null)
            {
                failures.Add($"#{i} {what}: {failure}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}
