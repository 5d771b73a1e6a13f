namespace DiskImage.IO;

/// <summary>Opens the storage a name refers to: a host file, or an NBD export for <c>nbd://</c> and <c>nbd+unix://</c> URIs.</summary>
public static class Storage
{
    /// <summary>Opens existing storage; errors become <see cref="ImageAccessException"/> in qemu-img's words.</summary>
    public static IStorage Open(string name, bool writable) => HostFile.Open(name, writable);
}
