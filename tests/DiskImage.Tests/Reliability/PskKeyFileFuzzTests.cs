using DiskImage.Nbd;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Reliability;

/// <summary>
/// Mutation fuzzing of the <c>keys.psk</c> reader behind a <c>tls-creds-psk</c> client object (lines
/// <c>USERNAME:HEXKEY</c>, the key then checked by GnuTLS as qemu checks it): every mutant either gives a key or
/// fails with one single-line <see cref="DiskImageException"/>, and no file, however large, costs more memory
/// than a bounded key line.
/// </summary>
public class PskKeyFileFuzzTests
{
    private const string Alphabet = ":\n\r\0 psk1qemu0123456789abcdefABCDEFxyz#\u00e9";

    [Fact]
    public void Mutated_key_files_give_a_key_or_one_error_line()
    {
        using var dir = new TempDirectory();
        var key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        string[] seeds =
        [
            $"psk1:{key}\n",
            $"other:{key}\npsk1:{key}\n",
            $"psk1:{key}",
            $"psk10:{key}\npsk1:{key}\r\n",
            $"qemu:{key}\n\npsk1:{key}\n",
        ];
        var random = new Random(20261202);
        var iterations = TextMutator.Iterations();
        var failures = new List<string>();
        var accepted = 0;
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var content = TextMutator.Mutate(seeds[i % seeds.Length], random, Alphabet, 0);
            File.WriteAllText(Path.Combine(dir.Path, "keys.psk"), content);
            try
            {
                _ = NbdTlsCredentials.Parse($"tls-creds-psk,id=c,dir={dir.Path},username=psk1,endpoint=client");
                accepted++;
            }
            catch (DiskImageException e) when (e.Message.Length > 0 && !e.Message.Contains('\n', StringComparison.Ordinal))
            {
            }
#pragma warning disable CA1031 // Anything else is the finding being looked for.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures.Add($"{content.ReplaceLineEndings("\\n")}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));

        // The mutants must still reach the key check, or the test would only exercise the lookup failure.
        Assert.True(accepted > 0);
    }

    [Fact]
    public void A_huge_key_line_fails_with_one_line_and_bounded_memory()
    {
        using var content = new RepeatingStream("psk1:"u8.ToArray(), (byte)'a', 256L << 20);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<ImageAccessException>(() => PskKeyFile.Find(content, "psk1", "/x/keys.psk"));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.DoesNotContain("\n", error.Message, StringComparison.Ordinal);
        Assert.StartsWith("Cannot read PSK file /x/keys.psk: ", error.Message, StringComparison.Ordinal);
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated");
    }

    [Fact]
    public void A_huge_file_without_the_user_is_scanned_in_bounded_memory()
    {
        using var content = new RepeatingStream("someone-else:"u8.ToArray(), (byte)'b', 256L << 20);
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Null(PskKeyFile.Find(content, "psk1", "/x/keys.psk"));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    /// <summary>A read-only stream of a prefix and then one byte repeated, so the test needs no large file.</summary>
    private sealed class RepeatingStream(byte[] prefix, byte filler, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - _position);
            for (var i = 0; i < n; i++)
            {
                var at = _position + i;
                buffer[i] = at < prefix.Length ? prefix[at] : filler;
            }

            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
