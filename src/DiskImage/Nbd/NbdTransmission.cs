using System.Buffers;
using System.Buffers.Binary;
using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Nbd;

/// <summary>
/// The transmission phase of one connection. Fast requests (small reads and writes, block status) are read, run
/// and answered on the connection's thread, with replies batched by <see cref="NbdConnectionIo"/>; slow ones
/// (flushes, large reads and writes, FUA, large trims and zero writes) go to <see cref="NbdRequestWorkers"/> and
/// are answered when done, so they do not hold back the fast ones behind them.
/// </summary>
internal sealed class NbdTransmission(NbdExport export, NbdSession session)
{
    /// <summary>
    /// Reads and writes up to this size run on the connection's thread: nbdcopy's 256 KiB requests and every
    /// small random read cost one wake-up of one thread, as before. Larger ones, whose copying takes long
    /// enough to hold back a whole burst of small requests, go to the workers.
    /// </summary>
    internal const int InlineDataLimit = 256 << 10;

    /// <summary>Trims and zero writes up to this size run inline: they touch metadata only, a few tables at most.</summary>
    internal const long InlineZeroLimit = 16 << 20;

    private readonly IDiskImage _image = export.Image;
    private readonly long _size = export.Image.Length;
    private readonly NbdConnectionIo _io = new(session.Stream);
    private readonly NbdRequestWorkers _workers = new();

    /// <summary>
    /// Serves requests until the client disconnects. Runs on the connection's own thread with blocking socket
    /// calls: a request wakes this thread straight from the kernel, and a fast one is read from the image and
    /// answered on the same thread, so it costs one wake-up instead of hops between an event thread, pool workers
    /// and continuations (which, on a busy machine, each wait for a CPU). The client may pipeline freely;
    /// requests queue in the socket until read, and the workers' bounds cap what a connection holds.
    /// </summary>
    public void Run()
    {
        try
        {
            Serve();

            // A clean end (DISC, bad magic, an oversized write): answer everything admitted before it first.
            _workers.Drain();
            lock (_io.SendLock)
            {
                _io.Flush();
            }
        }
        finally
        {
            // On a broken connection the workers' sends fail fast; wait for them before the stream goes.
            _workers.Drain();
            _workers.Dispose();
        }
    }

    private void Serve()
    {
        var header = new byte[28];
        while (true)
        {
            _io.ReadExactly(header);
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
                // Requests before it are still answered (Run drains the workers): a client may wait for them.
                return;
            }

            var request = new Request(command, flags, cookie, offset, length);
            if (command == NbdCommand.Write && length > NbdConstants.MaxPayload)
            {
                // The payload cannot be skipped without reading it all: answer, then hang up.
                lock (_io.SendLock)
                {
                    ReplyError(request, NbdError.InvalidArgument);
                }

                return;
            }

            var error = Validate(request);
            var slow = error == NbdError.None && IsSlow(request);
            var bytes = command is NbdCommand.Read or NbdCommand.Write ? (long)length : 0;
            if (slow)
            {
                _workers.Admit(bytes, SendCollected);
            }

            byte[]? payload = null;
            if (command == NbdCommand.Write)
            {
                payload = ArrayPool<byte>.Shared.Rent((int)length);
                try
                {
                    _io.ReadExactly(payload.AsSpan(0, (int)length));
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(payload);
                    if (slow)
                    {
                        _workers.Done(bytes);
                    }

                    throw;
                }
            }

            if (slow)
            {
                _workers.Run(() => RunSlow(request, payload, bytes));
                continue;
            }

            try
            {
                lock (_io.SendLock)
                {
                    if (error != NbdError.None)
                    {
                        ReplyError(request, error);
                    }
                    else
                    {
                        Execute(request, payload);
                    }
                }
            }
            finally
            {
                if (payload is not null)
                {
                    ArrayPool<byte>.Shared.Return(payload);
                }
            }
        }
    }

    /// <summary>Whether a valid request goes to the workers: it may take long enough to hold back others.</summary>
    private bool IsSlow(Request request)
    {
        var flushes = (request.Flags & NbdCommandFlags.Fua) != 0 || export.WriteThrough;
        return request.Command switch
        {
            NbdCommand.Flush => true,
            NbdCommand.Read => request.Length > InlineDataLimit,
            NbdCommand.Write => flushes || request.Length > InlineDataLimit,
            NbdCommand.Trim => export.Discard == NbdDiscardMode.Unmap && request.Length > InlineZeroLimit || flushes,
            NbdCommand.WriteZeroes => flushes || request.Length > InlineZeroLimit,
            _ => false,
        };
    }

    private void SendCollected()
    {
        lock (_io.SendLock)
        {
            _io.Flush();
        }
    }

    /// <summary>A slow request on a worker: run against the image outside the send lock, then answered at once.</summary>
    private void RunSlow(Request request, byte[]? payload, long bytes)
    {
        try
        {
            if (request.Command == NbdCommand.Read)
            {
                ReadSlow(request);
                return;
            }

            var result = NbdError.None;
            try
            {
                Change(request, payload);
            }
            catch (Exception e) when (IsImageFailure(e))
            {
                result = NbdError.IoError;
            }
            finally
            {
                if (payload is not null)
                {
                    ArrayPool<byte>.Shared.Return(payload);
                }
            }

            Send(() => ReplySimple(request.Cookie, result));
        }
        finally
        {
            _workers.Done(bytes);
        }
    }

    private void ReadSlow(Request request)
    {
        var length = (int)request.Length;
        var sparse = session.Structured && (request.Flags & NbdCommandFlags.DontFragment) == 0;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            IReadOnlyList<ChainExtent>? extents;
            try
            {
                extents = ReadData((long)request.Offset, buffer.AsSpan(0, length), sparse);
            }
            catch (Exception e) when (IsImageFailure(e))
            {
                extents = null;
            }

            Send(() =>
            {
                if (extents is null)
                {
                    ReplyError(request, NbdError.IoError);
                }
                else
                {
                    SendRead(request, buffer.AsSpan(0, length), extents);
                }
            });
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Sends a worker's reply, with the replies collected before it, under the send lock. When the connection
    /// is broken, the stream is closed so the connection's thread stops waiting for requests too.
    /// </summary>
    private void Send(Action reply)
    {
        try
        {
            lock (_io.SendLock)
            {
                reply();
                _io.Flush();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException or InvalidOperationException)
        {
            session.Stream.Dispose();
        }
    }

    /// <summary>Runs a valid request and answers it; the caller holds the send lock.</summary>
    private void Execute(Request request, byte[]? payload)
    {
        switch (request.Command)
        {
            case NbdCommand.Read:
                Read(request);
                return;
            case NbdCommand.BlockStatus:
                BlockStatus(request);
                return;
        }

        if (!TryImage(request, () => Change(request, payload)))
        {
            return;
        }

        ReplySimple(request.Cookie, NbdError.None);
    }

    /// <summary>Runs an image operation; a failure of the image (not of the connection) is answered as EIO.</summary>
    private bool TryImage(Request request, Action operation)
    {
        try
        {
            operation();
            return true;
        }
        catch (Exception e) when (IsImageFailure(e))
        {
            // Only the image is touched in here, never the socket, so every failure is the storage's.
            ReplyError(request, NbdError.IoError);
            return false;
        }
    }

    /// <summary>Failures of an image operation (which never touches the socket), answered as EIO.</summary>
    private static bool IsImageFailure(Exception e) =>
        e is DiskImageException or ArgumentException or InvalidOperationException or NotSupportedException or IOException;

    private void Change(Request request, byte[]? payload)
    {
        switch (request.Command)
        {
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
                // As qemu-nbd: a zero write without NO_HOLE may unmap whatever --discard says (that option governs TRIM
                // and what the format passes down to its file, not the export's own zero writes).
                var mayUnmap = (request.Flags & NbdCommandFlags.NoHole) == 0;
                _image.WriteZeroes((long)request.Offset, request.Length, mayUnmap);
                FlushIfAsked(request);
                break;
        }
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

    /// <summary>
    /// Reads up to this size are read straight into the batch of replies after their header: small reads are
    /// bound by syscalls and wake-ups, not copies. Larger ones go out on their own.
    /// </summary>
    private const int BatchedReadLimit = 64 << 10;

    private void Read(Request request)
    {
        var length = (int)request.Length;
        var offset = (long)request.Offset;
        var sparse = session.Structured && (request.Flags & NbdCommandFlags.DontFragment) == 0 && length > 0;
        var headLength = session.Structured ? 28 : 16;
        if (length <= BatchedReadLimit)
        {
            var room = _io.Reserve(headLength + length);
            if (!TryReadData(request, room.Slice(headLength, length), sparse, out var extents))
            {
                return;
            }

            if (!HasHole(extents))
            {
                WriteDataHeader(room, request, length);
                _io.Commit(headLength + length);
                return;
            }

            // Chunks take a different layout than the room: copy the data out first.
            var copy = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                room.Slice(headLength, length).CopyTo(copy);
                SendChunks(request, copy.AsSpan(0, length), extents);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(copy);
            }

            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var data = buffer.AsSpan(0, length);
            if (!TryReadData(request, data, sparse, out var extents))
            {
                return;
            }

            SendRead(request, data, extents);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A read's reply from its data: one data reply when there is no hole, else a chunk per extent.</summary>
    private void SendRead(Request request, ReadOnlySpan<byte> data, IReadOnlyList<ChainExtent> extents)
    {
        if (!HasHole(extents))
        {
            Span<byte> head = stackalloc byte[28];
            WriteDataHeader(head, request, data.Length);
            _io.Write(head[..(session.Structured ? 28 : 16)]);
            _io.Write(data);
            return;
        }

        SendChunks(request, data, extents);
    }

    /// <summary>Reads the request's data; on a failure of the image, answers EIO and returns false.</summary>
    private bool TryReadData(Request request, Span<byte> data, bool sparse, out IReadOnlyList<ChainExtent> extents)
    {
        try
        {
            extents = ReadData((long)request.Offset, data, sparse);
            return true;
        }
        catch (Exception e) when (IsImageFailure(e))
        {
            extents = [];
            ReplyError(request, NbdError.IoError);
            return false;
        }
    }

    private static bool HasHole(IReadOnlyList<ChainExtent> extents)
    {
        foreach (var extent in extents)
        {
            if (extent.ReadsAsZero)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The header of an all-data read reply: a simple reply, or one final data chunk.</summary>
    private void WriteDataHeader(Span<byte> head, Request request, int length)
    {
        if (!session.Structured)
        {
            NbdWire.SimpleReply(head, NbdError.None, request.Cookie);
            return;
        }

        NbdWire.ChunkHeader(head, true, NbdReplyType.OffsetData, request.Cookie, 8 + length);
        BinaryPrimitives.WriteUInt64BigEndian(head[20..], request.Offset);
    }

    /// <summary>A read with holes: one hole or data chunk per extent.</summary>
    private void SendChunks(Request request, ReadOnlySpan<byte> data, IReadOnlyList<ChainExtent> extents)
    {
        var offset = (long)request.Offset;
        Span<byte> head = stackalloc byte[32];
        for (var i = 0; i < extents.Count; i++)
        {
            var extent = extents[i];
            var done = i == extents.Count - 1;
            if (extent.ReadsAsZero)
            {
                NbdWire.ChunkHeader(head, done, NbdReplyType.OffsetHole, request.Cookie, 12);
                BinaryPrimitives.WriteUInt64BigEndian(head[20..], (ulong)extent.Offset);
                BinaryPrimitives.WriteUInt32BigEndian(head[28..], (uint)extent.Length);
                _io.Write(head);
            }
            else
            {
                NbdWire.ChunkHeader(head, done, NbdReplyType.OffsetData, request.Cookie, 8 + (int)extent.Length);
                BinaryPrimitives.WriteUInt64BigEndian(head[20..], (ulong)extent.Offset);
                _io.Write(head[..28]);
                _io.Write(data.Slice((int)(extent.Offset - offset), (int)extent.Length));
            }
        }
    }

    /// <summary>
    /// Reads <paramref name="data"/>; with <paramref name="sparse"/>, only the extents that hold data, returning
    /// the extents so holes can be answered as hole chunks (else an empty list).
    /// </summary>
    private IReadOnlyList<ChainExtent> ReadData(long offset, Span<byte> data, bool sparse)
    {
        if (!sparse)
        {
            _image.Read(offset, data);
            return [];
        }

        var extents = ChainBlockStatus.GetExtents(_image, offset, data.Length);
        foreach (var extent in extents)
        {
            if (!extent.ReadsAsZero)
            {
                _image.Read(extent.Offset, data.Slice((int)(extent.Offset - offset), (int)extent.Length));
            }
        }

        return extents;
    }

    private void BlockStatus(Request request)
    {
        var one = (request.Flags & NbdCommandFlags.RequestOne) != 0;
        var chunks = new List<byte[]>();
        var built = TryImage(request, () =>
        {
            IReadOnlyList<ChainExtent> extents = session.BaseAllocationId is null && session.AllocationDepthId is null
                ? []
                : ChainBlockStatus.GetExtents(_image, (long)request.Offset, request.Length);
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
        });
        if (!built)
        {
            return;
        }

        for (var i = 0; i < chunks.Count; i++)
        {
            // Header and status in one write.
            var reply = new byte[20 + chunks[i].Length];
            NbdWire.ChunkHeader(reply, i == chunks.Count - 1, NbdReplyType.BlockStatus, request.Cookie, chunks[i].Length);
            chunks[i].CopyTo(reply, 20);
            _io.Write(reply);
        }
    }

    private void ReplyError(Request request, NbdError error)
    {
        if (!session.Structured || request.Command is not (NbdCommand.Read or NbdCommand.BlockStatus))
        {
            ReplySimple(request.Cookie, error);
            return;
        }

        var chunk = new byte[26];
        NbdWire.ChunkHeader(chunk, true, NbdReplyType.Error, request.Cookie, 6);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(20), (uint)error);
        _io.Write(chunk);
    }

    private void ReplySimple(ulong cookie, NbdError error)
    {
        Span<byte> reply = stackalloc byte[16];
        NbdWire.SimpleReply(reply, error, cookie);
        _io.Write(reply);
    }

    private readonly record struct Request(NbdCommand Command, NbdCommandFlags Flags, ulong Cookie, ulong Offset, uint Length);
}
