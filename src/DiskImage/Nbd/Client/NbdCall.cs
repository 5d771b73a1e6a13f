namespace DiskImage.Nbd.Client;

/// <summary>One request in flight: what was asked, where its reply lands in the caller's buffer, and how it ended.</summary>
internal sealed class NbdCall(NbdCommand command, NbdCommandFlags flags, long offset, uint length, int bufferStart)
{
    public NbdCommand Command { get; } = command;

    public NbdCommandFlags Flags { get; } = flags;

    public long Offset { get; } = offset;

    public uint Length { get; } = length;

    /// <summary>Where the request's bytes start in the caller's buffer (read data lands there, write data comes from there).</summary>
    public int BufferStart { get; } = bufferStart;

    public ulong Cookie { get; set; }

    /// <summary>The caller whose thread reads this call's reply payloads.</summary>
    public NbdCaller? Owner { get; set; }

    /// <summary>The first error the server reported for this request.</summary>
    public NbdError Error { get; set; }

    public bool Done { get; set; }

    /// <summary><c>base:allocation</c> runs of a block status request.</summary>
    public List<(long Length, NbdAllocationFlags Flags)>? Runs { get; init; }

    /// <summary>Forgets a dropped connection's progress, so the request can be sent again on a new one.</summary>
    public void Reset()
    {
        Cookie = 0;
        Owner = null;
        Error = NbdError.None;
        Done = false;
        Runs?.Clear();
    }

    /// <summary>Bytes of data this request moves, charged against the in-flight byte bound.</summary>
    public long Charge => Command is NbdCommand.Read or NbdCommand.Write ? Length : 0;
}

/// <summary>
/// One caller's batch of calls and its pinned buffer. The receiver thread writes reply payloads straight
/// into that buffer; the caller stays in <see cref="NbdPipeline.Execute"/> (keeping it pinned) until every
/// call is answered or the receiver has stopped.
/// </summary>
internal sealed unsafe class NbdCaller(byte* buffer, int length)
{
    public byte* Buffer { get; } = buffer;

    public int Length { get; } = length;

    /// <summary>Calls sent and not yet answered; changed under the caller's own lock.</summary>
    public int Outstanding;
}

/// <summary>A reply header as read from the wire: a simple reply or one structured reply chunk.</summary>
internal readonly record struct NbdReplyHeader(bool Structured, ulong Cookie, NbdError Error, bool Done, NbdReplyType Type, uint Length);
