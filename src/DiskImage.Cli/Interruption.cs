using System.Runtime.InteropServices;

namespace DiskImage.Cli;

/// <summary>
/// SIGINT and SIGTERM cancel the running operation instead of killing the process, so partial outputs are
/// removed and the terminal restored; the process then exits 130 or 143, the status a shell reports for
/// qemu-img killed by those signals. A second signal takes its default action, and so does any signal while
/// no operation that honours cancellation runs (<see cref="Enabled"/> off), as before this handler existed.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private PosixSignalRegistration[] _registrations = [];
    private int _signal;
    private bool _enabled;

    /// <summary>
    /// Whether the running command honours <see cref="Token"/>; otherwise signals keep their default action. The
    /// handlers are registered when this is first turned on, so short verbs such as <c>info</c> do not pay at
    /// start-up for handlers they never use.
    /// </summary>
    public bool Enabled
    {
        get => Volatile.Read(ref _enabled);
        set
        {
            if (value && _registrations.Length == 0 && !OperatingSystem.IsWindows())
            {
                _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
            }

            Volatile.Write(ref _enabled, value);
        }
    }

    /// <summary>Cancelled by the first SIGINT or SIGTERM.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>The signal that cancelled, or null.</summary>
    public PosixSignal? Signal => Volatile.Read(ref _signal) is var s && s != 0 ? (PosixSignal)s : null;

    /// <summary>128 + the signal's number.</summary>
    public int ExitCode => Signal == PosixSignal.SIGTERM ? 143 : 130;

    /// <summary>The signal's name, for the one line printed.</summary>
    public string SignalName => Signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT";

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _source.Dispose();
    }

    private void Handle(PosixSignalContext context)
    {
        if (!Enabled || Interlocked.CompareExchange(ref _signal, (int)context.Signal, 0) != 0)
        {
            return;
        }

        context.Cancel = true;
        _source.Cancel();
    }
}
