using System.Buffers;
using System.Security.Cryptography;
using DiskImage.Crypto;
using DiskImage.IO;

namespace DiskImage.Formats.Luks;

/// <summary>
/// An open standalone LUKS image: guest byte <c>x</c> is file byte <c>payload offset + x</c>, encrypted in 512-byte
/// sectors whose IV is the guest sector number. As in QEMU, the virtual size is the file's length past the payload
/// offset rounded up to whole sectors, nothing is sparse (every sector holds ciphertext, so block status is data
/// throughout), and a discard does nothing.
/// </summary>
public sealed class LuksImage : IDiskImage
{
    /// <summary>Bytes encrypted or decrypted per step, as QEMU's 1 MiB bounce buffer: memory stays bounded for any request.</summary>
    private const int ChunkSize = 1 << 20;

    private readonly IStorage _file;
    private readonly ImageOpenOptions _options;
    private readonly LuksVolume _volume;
    private readonly SectorCipher? _cipher;
    private readonly long _payloadOffset;

    // Partial-sector writes read, change and rewrite whole sectors; this keeps two of them from interleaving.
    private readonly Lock _partialWrites = new();

    private LuksImage(IStorage file, ImageOpenOptions options, LuksVolume volume, SectorCipher? cipher)
    {
        _file = file;
        _options = options;
        _volume = volume;
        _cipher = cipher;
        _payloadOffset = (long)volume.Header.PayloadOffsetSectors * SectorCipher.SectorSize;
    }

    /// <summary>Reads the header of <paramref name="file"/> and, given a passphrase, unlocks the master key.</summary>
    internal static LuksImage Open(IStorage file, ImageOpenOptions options, byte[]? passphrase)
    {
        // A file shorter than the header reads as zeros past its end, which QEMU then calls "not in LUKS format".
        var data = new byte[LuksHeader.Size];
        file.Read(0, data);
        var header = LuksHeader.Parse(data, long.MaxValue);
        var payloadOffset = (long)header.PayloadOffsetSectors * SectorCipher.SectorSize;
        var volume = LuksVolume.Open(new HostFileLuksStorage(file, 0, payloadOffset));
        if (payloadOffset > file.Length)
        {
            throw new ImageAccessException("Could not refresh total sector count: Input/output error");
        }

        if (passphrase is null)
        {
            return new LuksImage(file, options, volume, null);
        }

        var masterKey = volume.Unlock(passphrase);
        try
        {
            return new LuksImage(file, options, volume, new SectorCipher(volume.Header.CipherSpec, masterKey));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(masterKey);
        }
    }

    /// <inheritdoc/>
    public IImageFormat Format => LuksFormat.Instance;

    /// <inheritdoc/>
    public string FilePath => _file.Path;

    /// <inheritdoc/>
    public IDiskImage? Backing => null;

    /// <summary>The file's length past the payload offset, rounded up to whole sectors as QEMU's block layer sees it.</summary>
    public long Length
    {
        get
        {
            var bytes = Math.Max(0, _file.Length - _payloadOffset);
            return (bytes + SectorCipher.SectorSize - 1) & ~(long)(SectorCipher.SectorSize - 1);
        }
    }

    /// <inheritdoc/>
    public bool CanWrite => _file.CanWrite;

    /// <summary>The LUKS header and key slots, for amend.</summary>
    internal LuksVolume Volume => _volume;

    /// <inheritdoc/>
    public ImageInfo GetInfo() => new()
    {
        Filename = _options.StackedDisplayName ?? _file.Path,
        Format = LuksFormat.Instance.Name,
        VirtualSize = Length,
        ActualSize = _file.AllocatedSize,
        Encrypted = true,
        DirtyFlag = false,
        FormatSpecific = new LuksSpecificInfo(EncryptionInfo.FromLuks(_volume.Header)),
    };

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        CheckRange(offset, buffer.Length);
        var cipher = Cipher();
        var rented = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            var done = 0;
            while (done < buffer.Length)
            {
                // Whole sectors around the next piece of the request, at most a chunk of them.
                var position = offset + done;
                var first = position & ~(long)(SectorCipher.SectorSize - 1);
                var skip = (int)(position - first);
                var count = Math.Min(buffer.Length - done, ChunkSize - skip);
                var span = rented.AsSpan(0, RoundUp(skip + count));
                _file.Read(_payloadOffset + first, span);
                cipher.Decrypt(first / SectorCipher.SectorSize, span);
                span.Slice(skip, count).CopyTo(buffer[done..]);
                done += count;
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(rented.AsSpan(0, ChunkSize));
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        var cipher = Cipher();
        var partial = (offset | (long)data.Length) % SectorCipher.SectorSize != 0;
        if (partial)
        {
            lock (_partialWrites)
            {
                WriteSectors(cipher, offset, data);
            }
        }
        else
        {
            WriteSectors(cipher, offset, data);
        }
    }

    /// <summary>Zeroes are encrypted and written like any data: a LUKS payload has no way to say "zero" without writing.</summary>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);
        var zeros = new byte[(int)Math.Min(length, ChunkSize)];
        for (var done = 0L; done < length; done += zeros.Length)
        {
            var count = (int)Math.Min(zeros.Length, length - done);
            Write(offset + done, zeros.AsSpan(0, count));
        }
    }

    /// <summary>Does nothing, as QEMU's LUKS driver, which has no discard: the ciphertext stays.</summary>
    public void Discard(long offset, long length)
    {
        CheckWritable();
        CheckRange(offset, length);
    }

    /// <inheritdoc/>
    public void Flush()
    {
        if (_file.CanWrite)
        {
            _file.Flush();
        }
    }

    /// <summary>All data, as QEMU reports a LUKS image: every sector holds ciphertext, so nothing is known to be zero.</summary>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        CheckRange(offset, length);
        return length == 0 ? [] : [new Extent(offset, length, ExtentKind.Data)];
    }

    /// <summary>
    /// Changes the virtual size: the file becomes payload offset + <paramref name="newSize"/> bytes long, grown with
    /// <paramref name="preallocation"/> (QEMU truncates the file to exactly that length).
    /// </summary>
    internal void Resize(long newSize, Preallocation preallocation)
    {
        CheckWritable();
        if (preallocation == Preallocation.Metadata)
        {
            throw new InvalidOptionException("Unsupported preallocation mode: metadata");
        }

        if (newSize > long.MaxValue - _payloadOffset)
        {
            throw new FileTooLargeException("The requested file size is too large");
        }

        var oldLength = _file.Length;
        var newLength = _payloadOffset + newSize;
        if (newLength < oldLength && preallocation != Preallocation.Off)
        {
            throw new InvalidOptionException("Preallocation can only be used for growing images");
        }

        Raw.RawPreallocator.Extend(_file, oldLength, newLength, preallocation);
        _file.Flush();
    }

    /// <summary>Adds or erases key slots (amend's <c>state</c>, <c>keyslot</c>, <c>new-secret</c>, <c>old-secret</c>, <c>iter-time</c>).</summary>
    internal void AmendKeySlots(LuksAmendOptions amendment)
    {
        CheckWritable();
        amendment.Apply(_volume, _options.SecretProvider, _options.KeySecret);
        _file.Flush();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _cipher?.Dispose();
        _file.Dispose();
    }

    private void WriteSectors(SectorCipher cipher, long offset, ReadOnlySpan<byte> data)
    {
        var rented = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            var done = 0;
            while (done < data.Length)
            {
                var position = offset + done;
                var first = position & ~(long)(SectorCipher.SectorSize - 1);
                var skip = (int)(position - first);
                var count = Math.Min(data.Length - done, ChunkSize - skip);
                var span = rented.AsSpan(0, RoundUp(skip + count));
                if (skip != 0 || count != span.Length)
                {
                    // A partly covered first or last sector keeps its other bytes: read and decrypt it first.
                    _file.Read(_payloadOffset + first, span);
                    cipher.Decrypt(first / SectorCipher.SectorSize, span);
                }

                data.Slice(done, count).CopyTo(span[skip..]);
                cipher.Encrypt(first / SectorCipher.SectorSize, span);
                _file.Write(_payloadOffset + first, span);
                done += count;
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(rented.AsSpan(0, ChunkSize));
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private SectorCipher Cipher() => _cipher ?? throw new InvalidOptionException(LuksFormat.MissingKeySecretMessage);

    private static int RoundUp(int length) => (length + SectorCipher.SectorSize - 1) & ~(SectorCipher.SectorSize - 1);

    private void CheckWritable()
    {
        if (!_file.CanWrite)
        {
            throw new InvalidOperationException("The image was opened read-only.");
        }
    }

    private void CheckRange(long offset, long length)
    {
        var size = Length;
        if (offset < 0 || length < 0 || offset > size - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range {offset}+{length} lies outside the {size}-byte image.");
        }
    }
}
