namespace DiskImage.Operations.Io;

/// <summary>
/// Breakpoints of a <c>blkdebug::</c> node under a raw image (or a qcow2 one, <see cref="SubmitDone"/>), as qemu-io's <c>break</c>, <c>resume</c>,
/// <c>wait_break</c> and <c>remove_break</c> use them. <c>aio_write</c> requests pass the events QEMU's block layer
/// raises on that node for a write at the node's alignment (<see cref="WriteEvents"/>); a request reaching an armed
/// event is held there (one-shot, as in QEMU) and its completion (its output lines and the events after the held one)
/// waits for <c>resume</c>, and a request overlapping one in flight waits for it as QEMU serialises them. The data itself is written when the request is issued: requests never overlap in time
/// here, and QEMU serialises overlapping read-modify-write requests in the order they were issued, so the image ends
/// the same. Only <c>aio_write</c> passes events: a synchronous request held in QEMU would wait forever.
/// </summary>
internal sealed class BlkdebugBreakpoints(long align)
{
    /// <summary>QEMU 7.2's blkdebug event names (the names <c>break</c> accepts).</summary>
    private static readonly HashSet<string> s_events = new(StringComparer.Ordinal)
    {
        "l1_update", "l1_grow_alloc_table", "l1_grow_write_table", "l1_grow_activate_table", "l2_load", "l2_update",
        "l2_update_compressed", "l2_alloc_cow_read", "l2_alloc_write", "read_aio", "read_backing_aio", "read_compressed",
        "write_aio", "write_compressed", "vmstate_load", "vmstate_save", "cow_read", "cow_write", "reftable_load",
        "reftable_grow", "reftable_update", "refblock_load", "refblock_update", "refblock_update_part", "refblock_alloc",
        "refblock_alloc_hookup", "refblock_alloc_write", "refblock_alloc_write_blocks", "refblock_alloc_write_table",
        "refblock_alloc_switch_table", "cluster_alloc", "cluster_alloc_bytes", "cluster_free", "flush_to_os",
        "flush_to_disk", "pwritev_rmw_head", "pwritev_rmw_after_head", "pwritev_rmw_tail", "pwritev_rmw_after_tail",
        "pwritev", "pwritev_zero", "pwritev_done", "empty_image_prepare", "l1_shrink_write_table",
        "l1_shrink_free_l2_clusters", "cor_write", "cluster_alloc_space", "none",
    };

    private readonly List<(string Event, string Tag)> _rules = [];

    // Requests not yet complete, oldest first: held at a breakpoint, or waiting for an older overlapping one.
    private readonly List<Request> _inFlight = [];

    // Completion lines of requests finished during the current command, printed after the progress it caused
    // (QEMU runs completion callbacks after the requests that were waiting have moved on).
    private readonly List<IoLine> _completed = [];

    private long _nextId;

    private sealed class Request(long id, long start, long end, bool serialising, IReadOnlyList<string> events, int waitBefore, IReadOnlyList<IoLine> completion)
    {
        public long Id { get; } = id;

        public long Start { get; } = start;

        public long End { get; } = end;

        /// <summary>The range later requests wait on while this one is in flight (its own range unless set).</summary>
        public long BlockStart { get; init; } = start;

        public long BlockEnd { get; init; } = end;

        public bool Serialising { get; } = serialising;

        public IReadOnlyList<string> Events { get; } = events;

        /// <summary>The event before which QEMU makes the request wait for older overlapping ones.</summary>
        public int WaitBefore { get; } = waitBefore;

        public IReadOnlyList<IoLine> Completion { get; } = completion;

        public int Position { get; set; }

        public bool Waited { get; set; }

        public bool Waiting { get; set; }

        public string? HeldAt { get; set; }
    }

    /// <summary>Arms a breakpoint; false for an unknown event name.</summary>
    public bool Break(string eventName, string tag)
    {
        if (!s_events.Contains(eventName))
        {
            return false;
        }

        _rules.Insert(0, (eventName, tag));
        return true;
    }

    /// <summary>Whether a request is held at <paramref name="tag"/>.</summary>
    public bool IsSuspended(string tag) => _inFlight.Exists(r => r.HeldAt == tag);

    /// <summary>
    /// Runs a write of <paramref name="count"/> bytes at <paramref name="offset"/> through its events; its
    /// <paramref name="completion"/> lines go to the output of the command that completes it.
    /// </summary>
    public void SubmitWrite(long offset, long count, bool zero, IReadOnlyList<IoLine> completion, QemuIoOutput output)
    {
        var events = WriteEvents(offset, count, zero);
        var padded = !zero && (offset % align != 0 || (offset + count) % align != 0);

        // A padded request is serialising over its aligned range and waits before its read-modify-write; an aligned
        // one waits just before it writes, for serialising requests only (QEMU's block layer).
        var request = padded
            ? new Request(_nextId++, offset / align * align, (offset + count + align - 1) / align * align, true, events, 0, completion)
            : new Request(_nextId++, offset, offset + count, false, events, events.Count - 2, completion);
        _inFlight.Add(request);
        Advance(request, output);
        ResumeWaiting(output);
        PrintCompleted(output);
    }

    /// <summary>
    /// A qcow2 write already carried out, with the <paramref name="events"/> it raised on the blkdebug node under the
    /// image: a breakpoint on one of them holds the request there. As in QEMU's qcow2 driver, later writes touching
    /// the clusters it allocates (<paramref name="allocation"/>) wait until it completes; others go on. Every write
    /// here was carried out in the order issued, and the ones QEMU would have let run alongside touch none of the held
    /// request's clusters, so the image ends as QEMU leaves it.
    /// </summary>
    public void SubmitDone(long offset, long count, (long Start, long End) allocation, IReadOnlyList<string> events, IReadOnlyList<IoLine> completion, QemuIoOutput output)
    {
        var request = new Request(_nextId++, offset, offset + count, true, events, 0, completion)
        {
            BlockStart = allocation.Start,
            BlockEnd = allocation.End,
        };
        _inFlight.Add(request);
        Advance(request, output);
        ResumeWaiting(output);
        PrintCompleted(output);
    }

    /// <summary>Completes a request that raises no events (one refused before it was issued).</summary>
    public static void SubmitNothing(IReadOnlyList<IoLine> completion, QemuIoOutput output)
    {
        foreach (var line in completion)
        {
            output.Add(line);
        }
    }

    /// <summary>Releases the newest request held at <paramref name="tag"/>; false when none is.</summary>
    public bool Resume(string tag, QemuIoOutput output)
    {
        var request = _inFlight.FindLast(r => r.HeldAt == tag);
        if (request is null)
        {
            return false;
        }

        request.HeldAt = null;
        output.Out($"blkdebug: Resuming request '{tag}'");
        Advance(request, output);
        ResumeWaiting(output);
        PrintCompleted(output);
        return true;
    }

    /// <summary>
    /// Disarms every breakpoint tagged <paramref name="tag"/> and releases its held requests. As in QEMU 7.2, the
    /// result is true only when an armed breakpoint was removed (releasing held requests alone reports none found).
    /// </summary>
    public bool Remove(string tag, QemuIoOutput output)
    {
        var found = _rules.RemoveAll(r => r.Tag == tag) > 0;
        while (Resume(tag, output))
        {
        }

        return found;
    }

    /// <summary>
    /// The events QEMU raises on the blkdebug node for a write of <paramref name="count"/> bytes at
    /// <paramref name="offset"/>: the read-modify-write of an unaligned head and tail (one merged read when the padded
    /// request fits the buffer QEMU allocates), then the write and its completion.
    /// </summary>
    public IReadOnlyList<string> WriteEvents(long offset, long count, bool zero)
    {
        var events = new List<string>();
        var head = offset % align;
        var end = offset + count;
        var tail = (align - (end % align)) % align;
        if (!zero && (head > 0 || tail > 0))
        {
            var sum = head + count + tail;
            var bufferLength = sum > align && head > 0 && tail > 0 ? 2 * align : align;
            var merged = sum == bufferLength;
            if (head > 0 || merged)
            {
                AddIf(events, head > 0, "pwritev_rmw_head");
                AddIf(events, merged && tail > 0, "pwritev_rmw_tail");
                AddIf(events, head > 0, "pwritev_rmw_after_head");
                AddIf(events, merged && tail > 0, "pwritev_rmw_after_tail");
            }

            if (!merged && tail > 0)
            {
                events.Add("pwritev_rmw_tail");
                events.Add("pwritev_rmw_after_tail");
            }
        }

        events.Add(zero ? "pwritev_zero" : "pwritev");
        events.Add("pwritev_done");
        return events;
    }

    private static void AddIf(List<string> events, bool condition, string name)
    {
        if (condition)
        {
            events.Add(name);
        }
    }

    private void Advance(Request request, QemuIoOutput output)
    {
        for (var i = request.Position; i < request.Events.Count; i++)
        {
            if (i == request.WaitBefore && !request.Waited)
            {
                // As QEMU: any other overlapping request in flight blocks it when either serialises, except one
                // that is itself waiting (it will wait for this one instead).
                if (_inFlight.Exists(r => r != request && !r.Waiting && (r.Serialising || request.Serialising) && r.BlockStart < request.End && request.Start < r.BlockEnd))
                {
                    request.Waiting = true;
                    request.Position = i;
                    return;
                }

                request.Waiting = false;
                request.Waited = true;
            }

            var rule = _rules.FindIndex(r => r.Event == request.Events[i]);
            if (rule >= 0)
            {
                request.HeldAt = _rules[rule].Tag;
                request.Position = i + 1;
                _rules.RemoveAt(rule);
                output.Out($"blkdebug: Suspended request '{request.HeldAt}'");
                return;
            }
        }

        _inFlight.Remove(request);
        _completed.AddRange(request.Completion);
    }

    private void PrintCompleted(QemuIoOutput output)
    {
        SubmitNothing(_completed, output);
        _completed.Clear();
    }

    /// <summary>Lets requests that waited for a now completed one go on, oldest first.</summary>
    private void ResumeWaiting(QemuIoOutput output)
    {
        bool progressed;
        do
        {
            var before = _inFlight.Count;
            foreach (var waiting in _inFlight.Where(r => r.HeldAt is null).ToArray())
            {
                if (_inFlight.Contains(waiting))
                {
                    Advance(waiting, output);
                }
            }

            progressed = _inFlight.Count < before;
        }
        while (progressed);
    }
}
