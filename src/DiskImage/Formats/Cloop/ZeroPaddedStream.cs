namespace DiskImage.Formats.Cloop;

/// <summary>
/// A read-only stream of the bytes given followed by zeroes up to a length: a compressed block that runs past the end
/// of the file reads there as zeroes, as QEMU's reads do, without the zeroes taking memory.
/// </summary>
internal sealed class ZeroPaddedStream(byte[] data, long length) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - _position);
        if (n <= 0)
        {
            return 0;
        }

        var fromData = (int)Math.Clamp(data.Length - _position, 0, n);
        data.AsSpan((int)Math.Min(_position, data.Length), fromData).CopyTo(buffer);
        buffer[fromData..n].Clear();
        _position += n;
        return n;
    }

    public override void Flush() { }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
