namespace DiskImage.Operations.Io;

/// <summary>Collects what one command prints, in order.</summary>
internal sealed class QemuIoOutput
{
    private readonly List<IoLine> _lines = [];

    /// <summary>A line on standard output (qemu-io's printf).</summary>
    public void Out(string text) => _lines.Add(new IoLine(IoStream.Output, text));

    /// <summary>A line on standard error without the program name (fprintf(stderr), getopt).</summary>
    public void Diagnostic(string text) => _lines.Add(new IoLine(IoStream.Diagnostic, text));

    /// <summary>A line on standard error behind the program name (error_report).</summary>
    public void Error(string text) => _lines.Add(new IoLine(IoStream.Error, text));

    /// <summary>A line kept from another output (a request's completion printed later).</summary>
    public void Add(IoLine line) => _lines.Add(line);

    /// <summary>Lines kept from another output.</summary>
    public void AddRange(IEnumerable<IoLine> lines) => _lines.AddRange(lines);

    /// <summary>
    /// Drops the standard-output lines added since <paramref name="mark"/> (a count of <see cref="Lines"/>) and adds
    /// <paramref name="text"/> in their place: a request that failed after printing its success.
    /// </summary>
    public void ReplaceOutputSince(int mark, string text)
    {
        for (var i = _lines.Count - 1; i >= mark; i--)
        {
            if (_lines[i].Stream == IoStream.Output)
            {
                _lines.RemoveAt(i);
            }
        }

        Out(text);
    }

    /// <summary>The lines so far.</summary>
    public IReadOnlyList<IoLine> Lines => _lines;

    /// <summary>
    /// What runs where qemu-io's event loop would run during the command (set by the session): requests still
    /// outstanding complete there and print their lines.
    /// </summary>
    public Action<QemuIoOutput, QemuIoWait>? Polling { get; set; }

    /// <summary>The command is about to wait for its own I/O, which lets outstanding aio requests complete first.</summary>
    public void Poll() => Polling?.Invoke(this, QemuIoWait.Request);

    /// <summary>The command is about to write and wait for it (flushing it under a writethrough cache).</summary>
    public void PollForWrite() => Polling?.Invoke(this, QemuIoWait.Write);

    /// <summary>The command waits for every outstanding request (aio_flush, flush, close, reopen).</summary>
    public void Drain() => Polling?.Invoke(this, QemuIoWait.Drain);

    /// <summary>Where an aio request's completion lines begin (null until it was submitted).</summary>
    public int? CompletionStart { get; private set; }

    /// <summary>An aio request is submitted: the lines from here on are printed when it completes.</summary>
    public void BeginCompletion() => CompletionStart = _lines.Count;

    /// <summary>Removes and returns the lines from <paramref name="index"/> on.</summary>
    public List<IoLine> TakeFrom(int index)
    {
        var taken = _lines.GetRange(index, _lines.Count - index);
        _lines.RemoveRange(index, _lines.Count - index);
        return taken;
    }

    /// <summary>Set by <c>quit</c>.</summary>
    public bool Quit { get; set; }

    /// <summary>Set by <c>sigraise</c>, which flushes standard output before raising.</summary>
    public bool FlushOutput { get; set; }

    /// <summary>Set by <c>sigraise</c>: the signal the caller must raise (0 = none).</summary>
    public int Signal { get; set; }

    /// <summary>Set by <c>abort</c>.</summary>
    public bool Abort { get; set; }

    public IoCommandOutcome ToOutcome(bool failed) => new(_lines.ToArray(), failed) { Quit = Quit, Abort = Abort, FlushOutput = FlushOutput, Signal = Signal };
}

/// <summary>How long a command waits, which decides which outstanding aio requests complete meanwhile.</summary>
internal enum QemuIoWait
{
    /// <summary>For its own request: those that need no flush complete.</summary>
    Request,

    /// <summary>For its own write: under a writethrough cache its flush waits for earlier flushes, so all complete.</summary>
    Write,

    /// <summary>For everything outstanding: all complete.</summary>
    Drain,
}
