namespace DiskImage.IO.Blkdebug;

/// <summary>
/// A blkdebug node's request limits (<c>align</c>, <c>max-transfer</c>, <c>opt-write-zero</c>, <c>max-write-zero</c>,
/// <c>opt-discard</c>, <c>max-discard</c>; 0 for none), and how QEMU's block layer splits a write-zeroes or discard
/// request for a node with them. Which pieces a node above a format turns into zeroes, into written zero bytes or into
/// nothing decides what the format allocates, so the splitting follows QEMU's.
/// </summary>
internal sealed record BlkdebugLimits(long Align, long MaxTransfer, long OptWriteZero, long MaxWriteZero, long OptDiscard, long MaxDiscard)
{
    /// <summary>The option names, in the order QEMU checks them.</summary>
    public static readonly string[] Keys = ["align", "max-transfer", "opt-write-zero", "max-write-zero", "opt-discard", "max-discard"];

    /// <summary>QEMU's largest bounce buffer for a write-zeroes request it falls back to writing (32 MiB).</summary>
    private const long MaxBounceBuffer = 32L << 20;

    /// <summary>
    /// The limits from option values (bytes, by <see cref="Keys"/>; missing ones 0), checked as QEMU's blkdebug_open
    /// checks them; the message for the first bad one, else null.
    /// </summary>
    public static BlkdebugLimits Create(IReadOnlyDictionary<string, long> values, out string? complaint)
    {
        long Get(string key) => values.TryGetValue(key, out var value) ? value : 0;
        var limits = new BlkdebugLimits(Get("align"), Get("max-transfer"), Get("opt-write-zero"), Get("max-write-zero"), Get("opt-discard"), Get("max-discard"));
        complaint = limits.Check();
        return limits;
    }

    private string? Check()
    {
        if (BlkdebugName.CheckAlign(Align) is { } alignComplaint)
        {
            return alignComplaint;
        }

        // The file underneath takes byte-aligned requests, so the node's own alignment is the one that counts.
        var align = Math.Max(Align, 1);
        static bool Bad(long value, long unit) => value != 0 && (value >= int.MaxValue || value % unit != 0);
        return Bad(MaxTransfer, align) ? $"Cannot meet constraints with max-transfer {MaxTransfer}"
            : Bad(OptWriteZero, align) ? $"Cannot meet constraints with opt-write-zero {OptWriteZero}"
            : Bad(MaxWriteZero, Math.Max(OptWriteZero, align)) ? $"Cannot meet constraints with max-write-zero {MaxWriteZero}"
            : Bad(OptDiscard, align) ? $"Cannot meet constraints with opt-discard {OptDiscard}"
            : Bad(MaxDiscard, Math.Max(OptDiscard, align)) ? $"Cannot meet constraints with max-discard {MaxDiscard}"
            : null;
    }

    /// <summary>The node's request alignment (1 when <c>align</c> is not given).</summary>
    private long RequestAlignment => Math.Max(Align, 1);

    /// <summary>
    /// The pieces a write-zeroes request becomes: <c>Zeroes</c> true for a piece passed on as write zeroes, false for
    /// one written as zero bytes. Partial blocks of the request alignment are written (QEMU pads them with a
    /// read-modify-write); in between, the bulk is cut at <c>opt-write-zero</c> boundaries and at most
    /// <c>max-write-zero</c> long, and blkdebug refuses pieces shorter than its alignment, which QEMU then writes in
    /// chunks of at most <c>max-transfer</c>.
    /// </summary>
    public List<(long Offset, long Length, bool Zeroes)> SplitWriteZeroes(long offset, long length)
    {
        var pieces = new List<(long, long, bool)>();
        var end = offset + length;
        var block = RequestAlignment;
        var alignedStart = Math.Min(end, RoundUp(offset, block));
        var alignedEnd = Math.Max(alignedStart, end / block * block);
        if (alignedStart > offset)
        {
            pieces.Add((offset, alignedStart - offset, false));
        }

        var alignment = Math.Max(OptWriteZero, block);
        var maxZeroes = (MaxWriteZero == 0 ? long.MaxValue : MaxWriteZero) / alignment * alignment;
        var maxTransfer = MaxTransfer == 0 ? MaxBounceBuffer : Math.Min(MaxTransfer, MaxBounceBuffer);
        var position = alignedStart;
        var bytes = alignedEnd - alignedStart;
        var head = position % alignment;
        var tail = alignedEnd % alignment;
        while (bytes > 0)
        {
            var num = bytes;
            if (head != 0)
            {
                num = Math.Min(Math.Min(bytes, maxTransfer), alignment - head);
                head = (head + num) % alignment;
            }
            else if (tail != 0 && num > alignment)
            {
                num -= tail;
            }

            num = Math.Min(num, maxZeroes);
            var zeroes = num >= alignment;
            if (!zeroes)
            {
                num = Math.Min(num, maxTransfer);
            }

            pieces.Add((position, num, zeroes));
            position += num;
            bytes -= num;
        }

        if (end > alignedEnd)
        {
            pieces.Add((alignedEnd, end - alignedEnd, false));
        }

        return pieces;
    }

    /// <summary>
    /// The pieces of a discard request that reach the format below: QEMU cuts it at the discard alignment
    /// (<c>opt-discard</c>, else <paramref name="formatDiscardAlignment"/>) and at most <c>max-discard</c> long, and
    /// blkdebug ignores pieces shorter than its request alignment.
    /// </summary>
    public List<(long Offset, long Length)> SplitDiscard(long offset, long length, long formatDiscardAlignment)
    {
        var pieces = new List<(long, long)>();
        var block = RequestAlignment;
        var alignment = Math.Max(OptDiscard != 0 ? OptDiscard : formatDiscardAlignment, block);
        var maxDiscard = (MaxDiscard == 0 ? long.MaxValue : MaxDiscard) / alignment * alignment;
        var head = offset % alignment;
        var tail = (offset + length) % alignment;
        while (length > 0)
        {
            var num = length;
            if (head != 0)
            {
                num = Math.Min(length, alignment - head);
                if (num % block != 0)
                {
                    num %= block;
                }

                head = (head + num) % alignment;
            }
            else if (tail != 0)
            {
                if (num > alignment)
                {
                    num -= tail;
                }
                else if (tail % block != 0 && tail > block)
                {
                    tail %= block;
                    num -= tail;
                }
            }

            num = Math.Min(num, maxDiscard);
            if (num >= block)
            {
                pieces.Add((offset, num));
            }

            offset += num;
            length -= num;
        }

        return pieces;
    }

    private static long RoundUp(long value, long unit) => (value + unit - 1) / unit * unit;
}
