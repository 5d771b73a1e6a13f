using System.Globalization;
using DiskImage.Operations;

namespace DiskImage.Cli.Rendering;

/// <summary>
/// qemu-img's plain <c>-p</c> output on stdout: <c>"    (x.xx/100%)\r"</c> at the start, whenever the figure has moved
/// more than the verb's step (1 % for convert, commit and amend, 2 % for compare and rebase), and at 0 and 100 %; a newline
/// at the end. Unlike qemu-img's, the figure never goes backwards.
/// </summary>
internal sealed class QemuProgress : IProgress<OperationProgress>
{
    private readonly TextWriter _output;
    private readonly float _step;
    private readonly Lock _lock = new();
    private float _current;
    private float _lastPrinted;

    /// <summary>Prints the starting 0.00 at once, as qemu-img does.</summary>
    public QemuProgress(TextWriter output, float step)
    {
        _output = output;
        _step = step;
        Print();
    }

    /// <summary>An operation's progress, shown as its percentage.</summary>
    public void Report(OperationProgress value) => Report(value.Percent);

    /// <summary>A new figure, in percent.</summary>
    public void Report(double value)
    {
        lock (_lock)
        {
            if (!double.IsNaN(value))
            {
                Set((float)Math.Min(100, value));
            }
        }
    }

    /// <summary>
    /// A step of <paramref name="delta"/> percent added to the figure in single precision, as qemu-img adds a verb's
    /// fixed step (rebase's share of one piece), so the sums and their rounding are qemu-img's.
    /// </summary>
    public void Advance(float delta)
    {
        lock (_lock)
        {
            Set(Math.Min(100f, _current + (delta / 100f * 100f)));
        }
    }

    private void Set(float current)
    {
        if (current < _current)
        {
            return;
        }

        _current = current;
        if (_current > _lastPrinted + _step || _current == 100 || _current == 0)
        {
            Print();
        }
    }

    /// <summary>The closing 100 % (printed again even when just reached, as qemu-img does) and the newline.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            _current = 100;
            Print();
            End();
        }
    }

    /// <summary>The newline alone: an operation that failed leaves its last figure standing.</summary>
    public void End()
    {
        _output.Write('\n');
        _output.Flush();
    }

    private void Print()
    {
        _lastPrinted = _current;
        _output.Write(string.Create(CultureInfo.InvariantCulture, $"    ({(double)_current:F2}/100%)\r"));
        _output.Flush();
    }
}
