namespace DiskImage.Cli.Rendering;

/// <summary>
/// Reports on the reporting thread, in order (unlike <see cref="Progress{T}"/>, which posts each report to the
/// thread pool, so figures could print out of order or after the operation's own output).
/// </summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
