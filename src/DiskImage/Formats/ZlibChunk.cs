using System.IO.Compression;

namespace DiskImage.Formats;

/// <summary>
/// Inflates one zlib-compressed chunk of a read-only format (cloop blocks, dmg chunks) as QEMU's drivers do: the
/// stream must end, with its Adler-32 trailer whole and matching, inside the chunk's bytes, and must produce exactly
/// the output's length. Bytes after the stream's end are ignored.
/// </summary>
internal static class ZlibChunk
{
    /// <summary>Whether <paramref name="compressed"/> holds a zlib stream that inflates to exactly <paramref name="output"/>.</summary>
    public static bool TryInflate(Stream compressed, Span<byte> output)
    {
        var input = new EndWatchingStream(compressed);
        try
        {
            using var zlib = new ZLibStream(input, CompressionMode.Decompress);
            var produced = zlib.ReadAtLeast(output, output.Length, throwOnEndOfStream: false);
            Span<byte> more = stackalloc byte[1];

            // The runtime's inflater checks the trailer when it has all four bytes but reports a stream cut inside the
            // trailer (or before it) as a plain end; it asks for input past the chunk only then, as a whole stream
            // never needs more input once it has ended.
            return produced == output.Length && zlib.Read(more) == 0 && !input.ReadPastEnd;
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // Both are the inflater's complaints: the input is in memory and cannot fail on its own.
            return false;
        }
    }

    /// <summary>A read-only pass-through that notes whether its reader asked for bytes after the end.</summary>
    private sealed class EndWatchingStream(Stream inner) : Stream
    {
        public bool ReadPastEnd { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            if (n == 0 && !buffer.IsEmpty)
            {
                ReadPastEnd = true;
            }

            return n;
        }

        public override void Flush() { }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
