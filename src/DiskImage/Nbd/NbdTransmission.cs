using System.Buffers;
using System.Buffers.Binary;
using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Nbd;

/// <summary>
/// The transmission phase of one connection: requests are read in order, run concurrently and answered
/// as they finish (out of order), with the bytes held by requests in flight bounded by a budget.
/// </summary>
internal sealed class NbdTransmission(NbdExport export, NbdSession session, NbdServerOptions options)
{
    /// <summary>Smallest budget charge per request, so requests without payload are bounded in number too.</summary>
    private const int MinimumCharge = 16 << 10;

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly NbdByteBudget _budget = new(options.MaxBytesInFlight);
    private readonly IDiskImage _image = export.Image;
    private readonly long _size = export.Image.Length;
    private volatile bool _broken;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // Requests are read through a buffer: a burst of pipelined headers costs one receive, not one each.
        var stream = new BufferedStream(session.Stream, 64 << 10);
        var header = new byte[28];
        try
        {
            while (!_broken)
            {
                await stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
                if (BinaryPrimitives.ReadUInt32BigEndian(header) != NbdConstants.RequestMagic)
                {
                    return;
                }

                var flags = (NbdCommandFlags)BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4));
                var command = (NbdCommand)BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(6));
                var cookie = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8));
                var offset = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(16));
                var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(24));
                if (command == NbdCommand.Disconnect)
                {
                    return;
                }

                var request = new Request(command, flags, cookie, offset, length);
                if (command == NbdCommand.Write)
                {
                    if (length > NbdConstants.MaxPayload)
                    {
                        // The payload cannot be skipped without reading it all: answer, then hang up.
                        await ReplyErrorAsync(request, NbdError.InvalidArgument, cancellationToken).ConfigureAwait(false);
                        return;
                    }

                    var charge = Math.Max((int)length, MinimumCharge);
                    await _budget.TakeAsync(charge, cancellationToken).ConfigureAwait(false);
                    var payload = ArrayPool<byte>.Shared.Rent((int)length);
                    try
                    {
                        await stream.ReadExactlyAsync(payload.AsMemory(0, (int)length), cancellationToken).ConfigureAwait(false);
                    }
                    catch
                    {
                        ArrayPool<byte>.Shared.Return(payload);
                        _budget.Give(charge);
                        throw;
                    }

                    Dispatch(request, payload, charge, cancellationToken);
                }
                else
                {
                    var charge = command == NbdCommand.Read ? Math.Max((int)Math.Min(length, (uint)NbdConstants.MaxPayload), MinimumCharge) : MinimumCharge;
                    await _budget.TakeAsync(charge, cancellationToken).ConfigureAwait(false);
                    Dispatch(request, null, charge, cancellationToken);
                }
            }
        }
        finally
        {
            // Answer what is in flight before the connection closes (a client may wait for them after DISC).
            try
            {
                await _budget.DrainAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                // Nothing more can be done for a client that stopped reading its replies.
            }
        }
    }

    private void Dispatch(Request request, byte[]? payload, int charge, CancellationToken cancellationToken)
    {
        _ = Task.Run(async () =>
        {
            try
            {
                await ExecuteAsync(request, payload, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
            {
                _broken = true;
            }
            finally
            {
                if (payload is not null)
                {
                    ArrayPool<byte>.Shared.Return(payload);
                }

                _budget.Give(charge);
            }
        }, CancellationToken.None);
    }

    private async Task ExecuteAsync(Request request, byte[]? payload, CancellationToken cancellationToken)
    {
        var error = Validate(request);
        if (error != NbdError.None)
        {
            await ReplyErrorAsync(request, error, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            switch (request.Command)
            {
                case NbdCommand.Read:
                    await ReadAsync(request, cancellationToken).ConfigureAwait(false);
                    return;
                case NbdCommand.BlockStatus:
                    await BlockStatusAsync(request, cancellationToken).ConfigureAwait(false);
                    return;
                case NbdCommand.Write:
                    Write(request, payload!);
                    break;
                case NbdCommand.Flush:
                    _image.Flush();
                    break;
                case NbdCommand.Trim:
                    if (export.Discard == NbdDiscardMode.Unmap)
                    {
                        _image.Discard((long)request.Offset, request.Length);
                    }

                    FlushIfAsked(request);
                    break;
                case NbdCommand.WriteZeroes:
                    var mayUnmap = (request.Flags & NbdCommandFlags.NoHole) == 0 && export.Discard == NbdDiscardMode.Unmap;
                    _image.WriteZeroes((long)request.Offset, request.Length, mayUnmap);
                    FlushIfAsked(request);
                    break;
                case NbdCommand.Cache:
                    break;
            }
        }
        catch (Exception e) when (e is DiskImageException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            await ReplyErrorAsync(request, NbdError.IoError, cancellationToken).ConfigureAwait(false);
            return;
        }
        catch (IOException) when (!_broken)
        {
            // A failure of the image's storage, not of the connection.
            await ReplyErrorAsync(request, NbdError.IoError, cancellationToken).ConfigureAwait(false);
            return;
        }

        await ReplySimpleAsync(request.Cookie, NbdError.None, cancellationToken).ConfigureAwait(false);
    }

    private NbdError Validate(Request request)
    {
        var command = request.Command;
        if (command is not (NbdCommand.Read or NbdCommand.Write or NbdCommand.Flush or NbdCommand.Trim or NbdCommand.Cache or NbdCommand.WriteZeroes or NbdCommand.BlockStatus))
        {
            return NbdError.InvalidArgument;
        }

        var allowed = command switch
        {
            NbdCommand.Read => NbdCommandFlags.DontFragment,
            NbdCommand.Write or NbdCommand.Trim => NbdCommandFlags.Fua,
            NbdCommand.WriteZeroes => NbdCommandFlags.Fua | NbdCommandFlags.NoHole | NbdCommandFlags.FastZero,
            NbdCommand.BlockStatus => NbdCommandFlags.RequestOne,
            _ => NbdCommandFlags.None,
        };
        if ((request.Flags & ~(allowed | NbdCommandFlags.Fua)) != 0)
        {
            return NbdError.InvalidArgument;
        }

        if ((request.Flags & NbdCommandFlags.DontFragment) != 0 && !session.Structured)
        {
            return NbdError.InvalidArgument;
        }

        if (command == NbdCommand.Flush)
        {
            return NbdError.None;
        }

        if (command is NbdCommand.Read && request.Length > NbdConstants.MaxPayload)
        {
            return NbdError.InvalidArgument;
        }

        if (request.Offset > (ulong)_size || request.Length > (ulong)_size - request.Offset)
        {
            return NbdError.InvalidArgument;
        }

        if (command is NbdCommand.Write or NbdCommand.Trim or NbdCommand.WriteZeroes && export.IsReadOnly)
        {
            return NbdError.NotPermitted;
        }

        if (command == NbdCommand.BlockStatus && (!session.HasMetaContext || request.Length == 0))
        {
            return NbdError.InvalidArgument;
        }

        return NbdError.None;
    }

    private void Write(Request request, byte[] payload)
    {
        var data = payload.AsSpan(0, (int)request.Length);
        if (export.DetectZeroes != NbdDetectZeroes.Off && !data.ContainsAnyExcept((byte)0))
        {
            var mayUnmap = export.DetectZeroes == NbdDetectZeroes.Unmap && export.Discard == NbdDiscardMode.Unmap;
            _image.WriteZeroes((long)request.Offset, data.Length, mayUnmap);
        }
        else
        {
            _image.Write((long)request.Offset, data);
        }

        FlushIfAsked(request);
    }

    private void FlushIfAsked(Request request)
    {
        if ((request.Flags & NbdCommandFlags.Fua) != 0 || export.WriteThrough)
        {
            _image.Flush();
        }
    }

    /// <summary>Room before the data in a read buffer, so a reply header and its data go out in one write.</summary>
    private const int Headroom = 32;

    /// <summary>
    /// Reads up to this size carry their reply header in headroom (one send each: small reads are bound by
    /// syscalls). Larger ones rent exactly their length, since headroom would push a power-of-two read into the
    /// pool's next bucket and double the memory it holds; their header is one extra send.
    /// </summary>
    private const int HeadroomReadLimit = 64 << 10;

    /// <summary>Reply headers sent apart from their data; only used under <see cref="_writeLock"/>.</summary>
    private readonly byte[] _replyHead = new byte[32];

    private async Task ReadAsync(Request request, CancellationToken cancellationToken)
    {
        var length = (int)request.Length;
        var offset = (long)request.Offset;
        var headroom = length <= HeadroomReadLimit ? Headroom : 0;
        var buffer = ArrayPool<byte>.Shared.Rent(headroom + length);
        try
        {
            var data = buffer.AsMemory(headroom, length);
            var sparse = session.Structured && (request.Flags & NbdCommandFlags.DontFragment) == 0 && length > 0;
            IReadOnlyList<ChainExtent> extents = sparse ? ChainBlockStatus.GetExtents(_image, offset, length) : [];
            if (sparse)
            {
                foreach (var extent in extents)
                {
                    if (!extent.ReadsAsZero)
                    {
                        _image.Read(extent.Offset, data.Span.Slice((int)(extent.Offset - offset), (int)extent.Length));
                    }
                }

                // All data: one data chunk, like an unfragmented read.
                sparse = false;
                foreach (var extent in extents)
                {
                    sparse |= extent.ReadsAsZero;
                }
            }
            else
            {
                _image.Read(offset, data.Span);
            }

            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var stream = session.Stream;
                if (!session.Structured)
                {
                    NbdWire.SimpleReply(_replyHead, NbdError.None, request.Cookie);
                    await SendWithHeaderAsync(stream, buffer, headroom, 16, length, cancellationToken).ConfigureAwait(false);
                }
                else if (!sparse)
                {
                    NbdWire.ChunkHeader(_replyHead, true, NbdReplyType.OffsetData, request.Cookie, 8 + length);
                    BinaryPrimitives.WriteUInt64BigEndian(_replyHead.AsSpan(20), (ulong)offset);
                    await SendWithHeaderAsync(stream, buffer, headroom, 28, length, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    var head = _replyHead;
                    for (var i = 0; i < extents.Count; i++)
                    {
                        var extent = extents[i];
                        var done = i == extents.Count - 1;
                        if (extent.ReadsAsZero)
                        {
                            NbdWire.ChunkHeader(head, done, NbdReplyType.OffsetHole, request.Cookie, 12);
                            BinaryPrimitives.WriteUInt64BigEndian(head.AsSpan(20), (ulong)extent.Offset);
                            BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(28), (uint)extent.Length);
                            await stream.WriteAsync(head.AsMemory(0, 32), cancellationToken).ConfigureAwait(false);
                        }
                        else
                        {
                            var slice = data.Slice((int)(extent.Offset - offset), (int)extent.Length);
                            await SendDataChunkAsync(stream, head, request.Cookie, done, extent.Offset, slice, cancellationToken).ConfigureAwait(false);
                        }
                    }
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (DiskImageException)
        {
            await ReplyErrorAsync(request, NbdError.IoError, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Sends the reply header already in <see cref="_replyHead"/> (<paramref name="headLength"/> bytes) and the data
    /// at <paramref name="headroom"/> in <paramref name="buffer"/>: in one write when the header fits in the headroom,
    /// else in two. The caller holds the write lock.
    /// </summary>
    private async Task SendWithHeaderAsync(Stream stream, byte[] buffer, int headroom, int headLength, int length, CancellationToken cancellationToken)
    {
        if (headroom >= headLength)
        {
            _replyHead.AsSpan(0, headLength).CopyTo(buffer.AsSpan(headroom - headLength));
            await stream.WriteAsync(buffer.AsMemory(headroom - headLength, headLength + length), cancellationToken).ConfigureAwait(false);
            return;
        }

        await stream.WriteAsync(_replyHead.AsMemory(0, headLength), cancellationToken).ConfigureAwait(false);
        await stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
    }

    private static async Task SendDataChunkAsync(Stream stream, byte[] head, ulong cookie, bool done, long offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        NbdWire.ChunkHeader(head, done, NbdReplyType.OffsetData, cookie, 8 + data.Length);
        BinaryPrimitives.WriteUInt64BigEndian(head.AsSpan(20), (ulong)offset);
        await stream.WriteAsync(head.AsMemory(0, 28), cancellationToken).ConfigureAwait(false);
        await stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
    }

    private async Task BlockStatusAsync(Request request, CancellationToken cancellationToken)
    {
        var one = (request.Flags & NbdCommandFlags.RequestOne) != 0;
        IReadOnlyList<ChainExtent> extents = session.BaseAllocationId is null && session.AllocationDepthId is null
            ? []
            : ChainBlockStatus.GetExtents(_image, (long)request.Offset, request.Length);
        var chunks = new List<byte[]>();
        if (session.BaseAllocationId is { } baseId)
        {
            chunks.Add(NbdStatusChunk.Build(baseId, extents, one, NbdStatusChunk.BaseAllocation));
        }

        if (session.AllocationDepthId is { } depthId)
        {
            chunks.Add(NbdStatusChunk.Build(depthId, extents, one, NbdStatusChunk.Depth));
        }

        foreach (var bitmap in session.Bitmaps)
        {
            chunks.Add(NbdStatusChunk.Bitmap(bitmap, (long)request.Offset, request.Length, one));
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var i = 0; i < chunks.Count; i++)
            {
                // Header and status in one write.
                var reply = new byte[20 + chunks[i].Length];
                NbdWire.ChunkHeader(reply, i == chunks.Count - 1, NbdReplyType.BlockStatus, request.Cookie, chunks[i].Length);
                chunks[i].CopyTo(reply, 20);
                await session.Stream.WriteAsync(reply, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReplyErrorAsync(Request request, NbdError error, CancellationToken cancellationToken)
    {
        if (!session.Structured || request.Command is not (NbdCommand.Read or NbdCommand.BlockStatus))
        {
            await ReplySimpleAsync(request.Cookie, error, cancellationToken).ConfigureAwait(false);
            return;
        }

        var chunk = new byte[26];
        NbdWire.ChunkHeader(chunk, true, NbdReplyType.Error, request.Cookie, 6);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(20), (uint)error);
        await WriteLockedAsync(chunk, cancellationToken).ConfigureAwait(false);
    }

    private Task ReplySimpleAsync(ulong cookie, NbdError error, CancellationToken cancellationToken)
    {
        var reply = new byte[16];
        NbdWire.SimpleReply(reply, error, cookie);
        return WriteLockedAsync(reply, cancellationToken);
    }

    private async Task WriteLockedAsync(byte[] data, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await session.Stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private readonly record struct Request(NbdCommand Command, NbdCommandFlags Flags, ulong Cookie, ulong Offset, uint Length);
}
