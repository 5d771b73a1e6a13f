namespace DiskImage.IO;

/// <summary>
/// Writes literal zero bytes over a range through a storage's own <see cref="IStorage.Write"/>, for storage whose
/// protocol has no cheaper way to zero (or as the fallback when it refuses one).
/// </summary>
internal static class ZeroBytesWriter
{
    /// <summary>Writes zeroes over <paramref name="length"/> bytes at <paramref name="offset"/>, at most
    /// <paramref name="maxChunk"/> bytes per write (one buffer reused for the whole range).</summary>
    public static void Write(IStorage storage, long offset, long length, int maxChunk = 1 << 20)
    {
        var zeroes = new byte[(int)Math.Clamp(length, 1, maxChunk)];
        while (length > 0)
        {
            var n = (int)Math.Min(zeroes.Length, length);
            storage.Write(offset, zeroes.AsSpan(0, n));
            offset += n;
            length -= n;
        }
    }
}
