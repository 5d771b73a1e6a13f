namespace DiskImage.Nbd;

/// <summary>
/// One connection's blocking reads and writes in transmission, batched both ways: requests are read through a
/// buffer (a burst of pipelined headers is one receive), and replies collect in an output buffer that is sent
/// whenever the server is about to wait for the client, or when it is full. So a burst of small requests is
/// answered with one send, and the client is woken once for the burst instead of once per reply. No reply is
/// ever held while the server waits to read, so a client that waits for its answers always gets them.
/// Replies come from the connection's thread and from its request workers: whoever adds to the replies or sends
/// holds <see cref="SendLock"/>, so replies never interleave on the wire.
/// </summary>
internal sealed class NbdConnectionIo(Stream stream)
{
    private const int InputSize = 64 << 10;

    /// <summary>Bytes of replies collected before they are sent.</summary>
    public const int OutputSize = 128 << 10;

    /// <summary>Writes at least this large go straight to the socket (after what is collected), not through a copy.</summary>
    private const int DirectWrite = 32 << 10;

    private readonly byte[] _in = new byte[InputSize];
    private readonly byte[] _out = new byte[OutputSize];
    private int _inStart;
    private int _inEnd;
    private int _outLength;

    /// <summary>Held by every writer of replies; <see cref="ReadExactly"/> takes it to send before it waits.</summary>
    public Lock SendLock { get; } = new();

    /// <summary>Fills <paramref name="destination"/> from the client; <see cref="EndOfStreamException"/> when it hangs up first.</summary>
    public void ReadExactly(Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            if (_inStart == _inEnd)
            {
                // Nothing more from the client is at hand: send what is answered before waiting for it.
                lock (SendLock)
                {
                    Flush();
                }

                if (destination.Length >= InputSize)
                {
                    var direct = stream.Read(destination);
                    if (direct == 0)
                    {
                        throw new EndOfStreamException();
                    }

                    destination = destination[direct..];
                    continue;
                }

                _inStart = 0;
                _inEnd = stream.Read(_in);
                if (_inEnd == 0)
                {
                    throw new EndOfStreamException();
                }
            }

            var take = Math.Min(destination.Length, _inEnd - _inStart);
            _in.AsSpan(_inStart, take).CopyTo(destination);
            _inStart += take;
            destination = destination[take..];
        }
    }

    /// <summary>
    /// Room for a reply of <paramref name="length"/> bytes (at most <see cref="OutputSize"/>) at the end of the
    /// collected replies, sending those first when it would not fit. It counts once <see cref="Commit"/> is called.
    /// </summary>
    public Span<byte> Reserve(int length)
    {
        if (_outLength + length > OutputSize)
        {
            Flush();
        }

        return _out.AsSpan(_outLength, length);
    }

    /// <summary>Adds the first <paramref name="length"/> bytes of the last <see cref="Reserve"/> to the replies.</summary>
    public void Commit(int length) => _outLength += length;

    /// <summary>Adds <paramref name="data"/> to the replies; large data is sent at once, after what is collected.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        if (data.Length >= DirectWrite)
        {
            Flush();
            stream.Write(data);
            return;
        }

        data.CopyTo(Reserve(data.Length));
        Commit(data.Length);
    }

    /// <summary>Sends the collected replies.</summary>
    public void Flush()
    {
        if (_outLength > 0)
        {
            var length = _outLength;
            _outLength = 0;
            stream.Write(_out, 0, length);
        }
    }
}
