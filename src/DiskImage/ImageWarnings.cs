namespace DiskImage;

/// <summary>
/// Warnings raised where QEMU's tools print one and carry on rather than fail, such as persistent bitmaps that
/// could not be stored when an image closed. The library never prints them: a caller listens for the duration
/// of its work (the listener flows with the execution context, so parallel callers keep their own). A warning that
/// starts with a format driver's name and a colon (<c>qcow2: Marking image as corrupt: ...</c>) is one QEMU's driver
/// prints on its own, without the program's name in front.
/// </summary>
public static class ImageWarnings
{
    private static readonly AsyncLocal<Action<string>?> s_listener = new();

    /// <summary>Sends warnings raised from here on (in this execution context) to <paramref name="listener"/> until the result is disposed.</summary>
    public static IDisposable Listen(Action<string> listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        var previous = s_listener.Value;
        s_listener.Value = listener;
        return new Subscription(previous);
    }

    /// <summary>Passes <paramref name="message"/> to the current listener, if any.</summary>
    internal static void Report(string message) => s_listener.Value?.Invoke(message);

    private sealed class Subscription(Action<string>? previous) : IDisposable
    {
        public void Dispose() => s_listener.Value = previous;
    }
}
