namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>
/// A loop device over a file (<c>losetup</c>, which needs root): a real block device for tests of device targets.
/// Disposing detaches it.
/// </summary>
public sealed class LoopDevice : IDisposable
{
    private LoopDevice(string path) => Path = path;

    /// <summary>The device node, such as <c>/dev/loop3</c>.</summary>
    public string Path { get; }

    /// <summary>Attaches <paramref name="file"/> to the first free loop device.</summary>
    public static LoopDevice Attach(string file)
    {
        var result = ExternalTool.Run(ExternalTool.Require("losetup"), "--find", "--show", file);
        result.EnsureSuccess("losetup (block device tests run as root, as CI does)");
        return new LoopDevice(result.StdOut.Trim());
    }

    public void Dispose() => ExternalTool.Run("losetup", "-d", Path);
}
