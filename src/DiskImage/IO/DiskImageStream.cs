using DiskImage.Formats;

namespace DiskImage.IO;

/// <summary>
/// A seekable <see cref="Stream"/> over a block device or an opened image, for the .NET APIs that take a
/// stream (hashing, HTTP upload, archives, file-system readers). <see cref="Stream.Length"/> is the guest
/// size; the stream is writable when the device is.
/// </summary>
/// <remarks>
/// Like <see cref="FileStream"/>, one instance is not thread-safe: its position is shared state. The device
/// underneath is thread-safe and positional, so any number of streams may be opened over one device and
/// used from different threads. The image has a fixed size: <see cref="SetLength"/> is refused (resize
/// the image with the resize operation instead), and a write that would pass the end fails without
/// writing anything. <see cref="CopyToAsync(Stream, int, CancellationToken)"/> skips holes.
/// </remarks>
public sealed class DiskImageStream : Stream
{
    private const int DefaultCopyBufferSize = 1 << 20;

    private readonly IBlockDevice _device;
    private readonly bool _leaveOpen;
    private long _position;
    private bool _disposed;

    /// <summary>A stream over <paramref name="device"/>, positioned at 0.</summary>
    /// <param name="device">The device or image to read and write.</param>
    /// <param name="leaveOpen">Keep the device open when the stream is disposed.</param>
    public DiskImageStream(IBlockDevice device, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
        _leaveOpen = leaveOpen;
    }

    /// <summary>The device this stream reads and writes.</summary>
    public IBlockDevice Device => _device;

    /// <inheritdoc/>
    public override bool CanRead => !_disposed;

    /// <inheritdoc/>
    public override bool CanSeek => !_disposed;

    /// <inheritdoc/>
    public override bool CanWrite => !_disposed && _device.CanWrite;

    /// <summary>The guest-visible size of the image.</summary>
    public override long Length
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _device.Length;
        }
    }

    /// <inheritdoc/>
    public override long Position
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _position;
        }
        set
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var basis = origin switch
        {
            SeekOrigin.Begin => 0,
            SeekOrigin.Current => _position,
            SeekOrigin.End => _device.Length,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        var target = basis + offset;
        if (target < 0 || (offset > 0 && target < basis))
        {
            throw new IOException("An attempt was made to move the position before the beginning of the stream.");
        }

        _position = target;
        return target;
    }

    /// <summary>Refused: an image keeps its size (grow or shrink it with the resize operation).</summary>
    public override void SetLength(long value) => throw new NotSupportedException("The size of an image is changed by resizing it, not through its stream.");

    /// <summary>Makes every completed write durable, metadata included.</summary>
    public override void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_device.CanWrite)
        {
            _device.Flush();
        }
    }

    /// <inheritdoc/>
    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        return _device.CanWrite ? Task.Run(_device.Flush, cancellationToken) : Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <summary>Reads up to <c>buffer.Length</c> bytes; fewer only at the end of the image, 0 at or past it.</summary>
    public override int Read(Span<byte> buffer)
    {
        var count = Reserve(buffer.Length);
        if (count > 0)
        {
            _device.Read(_position - count, buffer[..count]);
        }

        return count;
    }

    /// <inheritdoc/>
    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <summary>
    /// Reads on a thread-pool thread, as <see cref="FileStream"/> does on Linux; the position moves when the
    /// call starts, so sequential calls need not wait for each other's completion to be correct.
    /// </summary>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        var count = Reserve(buffer.Length);
        if (count == 0)
        {
            return ValueTask.FromResult(0);
        }

        var offset = _position - count;
        var device = _device;
        return new ValueTask<int>(Task.Run(() =>
        {
            device.Read(offset, buffer.Span[..count]);
            return count;
        }, cancellationToken));
    }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    /// <summary>Writes all of <paramref name="buffer"/>; a write past the end of the image fails and writes nothing.</summary>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var offset = ReserveWrite(buffer.Length);
        _device.Write(offset, buffer);
        _position = offset + buffer.Length;
    }

    /// <inheritdoc/>
    public override void WriteByte(byte value) => Write([value]);

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <summary>Writes on a thread-pool thread, as <see cref="FileStream"/> does on Linux; the position moves when the call starts.</summary>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        var offset = ReserveWrite(buffer.Length);
        _position = offset + buffer.Length;
        if (buffer.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }

        var device = _device;
        return new ValueTask(Task.Run(() => device.Write(offset, buffer.Span), cancellationToken));
    }

    /// <inheritdoc/>
    public override void CopyTo(Stream destination, int bufferSize) =>
        CopyToAsync(destination, bufferSize, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>
    /// Copies from the current position to the end, reading only the ranges that hold data. Ranges that read
    /// as zeroes cost no read; when <paramref name="destination"/> is seekable and positioned at its end, they
    /// are skipped with a seek (so a new file stays sparse) and the file is extended at the end; otherwise
    /// zeroes are written.
    /// </summary>
    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        ValidateCopyToArguments(destination, bufferSize);
        ObjectDisposedException.ThrowIf(_disposed, this);
        bufferSize = Math.Max(bufferSize, DefaultCopyBufferSize);
        var buffer = new byte[bufferSize];
        var end = _device.Length;
        var skipped = false;
        foreach (var run in ContentRuns.Of(_device, _position, end))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (run.ReadsAsZero)
            {
                skipped = await SkipZeroesAsync(destination, run.Length, buffer, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                for (var offset = run.Offset; offset < run.End; offset += bufferSize)
                {
                    var count = (int)Math.Min(bufferSize, run.End - offset);
                    var device = _device;
                    var at = offset;
                    await Task.Run(() => device.Read(at, buffer.AsSpan(0, count)), cancellationToken).ConfigureAwait(false);
                    await destination.WriteAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                }

                skipped = false;
            }

            _position = run.End;
        }

        if (skipped)
        {
            // The last range was skipped by seeking: give the file its full length (the tail is a hole).
            destination.SetLength(destination.Position);
        }
    }

    /// <summary>True when the range was skipped by a seek past the end of <paramref name="destination"/>.</summary>
    private static async ValueTask<bool> SkipZeroesAsync(Stream destination, long length, byte[] buffer, CancellationToken cancellationToken)
    {
        if (destination.CanSeek && destination.Position >= destination.Length)
        {
            destination.Seek(length, SeekOrigin.Current);
            return true;
        }

        // Bytes already there (or a pipe): they must really become zeroes.
        Array.Clear(buffer);
        for (var left = length; left > 0;)
        {
            var count = (int)Math.Min(buffer.Length, left);
            await destination.WriteAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
            left -= count;
        }

        return false;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed && !_leaveOpen)
        {
            _device.Dispose();
        }

        _disposed = true;
        base.Dispose(disposing);
    }

    /// <summary>Claims up to <paramref name="wanted"/> bytes at the position for a read and moves past them.</summary>
    private int Reserve(int wanted)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var available = _device.Length - _position;
        var count = available <= 0 ? 0 : (int)Math.Min(wanted, available);
        _position += count;
        return count;
    }

    private long ReserveWrite(int length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_device.CanWrite)
        {
            throw new NotSupportedException("The image was opened read-only.");
        }

        if (_position > _device.Length - length)
        {
            throw new IOException($"A write of {length} bytes at offset {_position} would pass the end of the image ({_device.Length} bytes).");
        }

        return _position;
    }
}
