// Backup-style copy through the Stream: any image (raw, qcow2, a qcow2 over a backing chain) becomes a
// sparse raw file, and its SHA-256 is computed on the way from the same stream, as a backup agent would.
// Usage: BackupCopy SOURCE-IMAGE TARGET.raw
using System.Security.Cryptography;
using DiskImage.Formats;
using DiskImage.IO;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: BackupCopy SOURCE-IMAGE TARGET.raw");
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

using var image = ImageFormatRegistry.Default.Open(args[0], formatName: null);
await using (var target = new FileStream(args[1], FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
await using (var source = image.AsStream())
{
    // Holes in the image are skipped: the target stays sparse and only data is read.
    await source.CopyToAsync(target, cancel.Token);
}

await using (var check = image.AsStream())
{
    var hash = await SHA256.HashDataAsync(check, cancel.Token);
    Console.WriteLine($"{Convert.ToHexStringLower(hash)}  {args[1]} ({image.Length} bytes)");
}

return 0;
