using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// One large raw image full of data (not zeros, poorly compressible), made once for the interruption tests,
/// so that every copy runs long enough to be interrupted in the middle.
/// </summary>
public sealed class LargeSource : IDisposable
{
    public const long Size = 768L << 20;

    private readonly TempDirectory _directory = new();
    private readonly Lazy<string> _qcow2;

    public LargeSource()
    {
        Path = _directory.File("source.raw");
        _qcow2 = new Lazy<string>(() =>
        {
            var qcow2 = _directory.File("source.qcow2");
            ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow2", Path, qcow2);
            return qcow2;
        });
        var random = new Random(11);
        var block = new byte[1 << 20];
        random.NextBytes(block);
        using var stream = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        for (long done = 0; done < Size; done += block.Length)
        {
            // A different first word per MiB keeps blocks distinct for deduplicating file systems and compressors alike.
            BitConverter.TryWriteBytes(block, done);
            stream.Write(block);
        }
    }

    public string Path { get; }

    /// <summary>The same data as a qcow2 image (made by qemu-img on first use).</summary>
    public string Qcow2Path => _qcow2.Value;


    public void Dispose() => _directory.Dispose();
}
