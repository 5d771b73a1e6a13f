using System.Diagnostics;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.IO.Curl;

namespace DiskImage.Interop.Tests.Curl;

/// <summary>What the http and ftp hostile-server tests ask of every misbehaving server's outcome.</summary>
internal static class HostileRead
{
    /// <summary>Quick, the expected line among the errors, no stack trace, and a failure the exit code or qemu-io's read line shows.</summary>
    public static void AssertOneCleanError(ExternalTool.Result result, string expected, TimeSpan elapsed)
    {
        Assert.True(elapsed < TimeSpan.FromSeconds(20), $"took {elapsed}");
        Assert.Contains(expected, result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.StdErr, StringComparison.Ordinal);
        Assert.True(result.ExitCode != 0 || result.StdOut.Contains("read failed: Input/output error", StringComparison.Ordinal), result.StdOut + result.StdErr);
    }

    /// <summary>
    /// Opens <paramref name="url"/> through the curl driver (2 s timeout, no readahead) and reads 4 KiB at 0, 64 KiB
    /// and 1 MiB. A clean refusal is fine; otherwise each read must give what <paramref name="expected"/> says for
    /// (offset, the node's length). Returns what went wrong, or null.
    /// </summary>
    public static string? ReadsRightOrRefuses(string scheme, string url, Func<long, long, byte[]?> expected)
    {
        var options = CurlOptions.Parse(scheme, new Dictionary<string, string> { ["url"] = url, ["timeout"] = "2", ["readahead"] = "0" });
        using var given = CurlStorage.Given(options);
        var watch = Stopwatch.StartNew();
        string? failure = null;
        try
        {
            using var storage = CurlStorage.Open(url, writable: false);
            foreach (var offset in new long[] { 0, 65536, 1 << 20 })
            {
                var buffer = new byte[4096];
                storage.Read(offset, buffer);
                var want = expected(offset, storage.Length);
                if (want is not null && !buffer.AsSpan().SequenceEqual(want))
                {
                    failure ??= $"wrong bytes at {offset}";
                }
            }
        }
        catch (DiskImageException)
        {
            // A clean refusal.
        }
        catch (Exception e)
        {
            failure ??= $"{e.GetType().Name}: {e.Message}";
        }

        return watch.Elapsed > TimeSpan.FromSeconds(10) ? $"took {watch.Elapsed}" : failure;
    }
}
