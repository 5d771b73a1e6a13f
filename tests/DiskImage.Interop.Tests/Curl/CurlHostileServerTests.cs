using System.Diagnostics;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Reliability;
using DiskImage.IO.Curl;

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
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        Assert.Contains(expected, result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.StdErr, StringComparison.Ordinal);
        Assert.True(result.ExitCode != 0 || result.StdOut.Contains("read failed: Input/output error", StringComparison.Ordinal), result.StdOut + result.StdErr);
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

            var options = CurlOptions.Parse("http", new Dictionary<string, string> { ["url"] = server.Url("disk.raw"), ["timeout"] = "2", ["readahead"] = "0" });
            using var given = CurlStorage.Given(options);
            var watch = Stopwatch.StartNew();
            try
            {
                using var storage = CurlStorage.Open(server.Url("disk.raw"), writable: false);
                foreach (var offset in new long[] { 0, 65536, 1 << 20 })
                {
                    var buffer = new byte[4096];
                    storage.Read(offset, buffer);
                    // A head made longer sends bytes that HTTP's framing makes part of the body, announced length
                    // and all: no client can tell them from data, so only the other mutants must give the file's bytes.
                    if (!extended && !buffer.AsSpan().SequenceEqual(original.AsSpan((int)offset, 4096)))
                    {
                        failures.Add($"#{i} {what}: wrong bytes at {offset}");
                    }
                }
            }
            catch (DiskImageException)
            {
                // A clean refusal.
            }
            catch (Exception e)
            {
                failures.Add($"#{i} {what}: {e.GetType().Name}: {e.Message}");
            }

            if (watch.Elapsed > TimeSpan.FromSeconds(10))
            {
                failures.Add($"#{i} {what}: took {watch.Elapsed}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}
