using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>
/// A LUKS1 header and its key material in an <see cref="ILuksStorage"/>: formatting, unlocking with a
/// passphrase, and adding or erasing key slots. A master key is only ever used after its digest
/// matched, so nothing gets encrypted with a wrong key.
/// </summary>
internal sealed class LuksVolume
{
    public const string WrongPassphraseMessage = "Invalid password, cannot unlock any keyslot";

    private readonly ILuksStorage _storage;

    private LuksVolume(LuksHeader header, ILuksStorage storage)
    {
        Header = header;
        _storage = storage;
    }

    public LuksHeader Header { get; private set; }

    /// <summary>Bytes a new LUKS area needs for <paramref name="cipher"/>: header, then eight 4 KiB-aligned key slots.</summary>
    public static long AreaLength(LuksCipherSpec cipher) => (long)PayloadSectors(cipher.MasterKeyBytes) * SectorCipher.SectorSize;

    /// <summary>Reads and validates the header at the start of <paramref name="storage"/>.</summary>
    public static LuksVolume Open(ILuksStorage storage)
    {
        var data = new byte[LuksHeader.Size];
        if (storage.Length < LuksHeader.Size)
        {
            throw new InvalidImageException("LUKS header is truncated");
        }

        storage.Read(0, data);
        return new LuksVolume(LuksHeader.Parse(data, storage.Length), storage);
    }

    /// <summary>
    /// Formats <paramref name="storage"/> (at least <see cref="AreaLength"/> bytes, reading as zeros) with
    /// a fresh random master key wrapped in key slot 0 by <paramref name="passphrase"/>. Returns the
    /// volume and the master key, which the caller must zero when done.
    /// </summary>
    public static (LuksVolume Volume, byte[] MasterKey) Format(ILuksStorage storage, LuksCreateOptions options, ReadOnlySpan<byte> passphrase)
    {
        var cipher = options.Cipher;
        var keyBytes = cipher.MasterKeyBytes;
        var masterKey = RandomNumberGenerator.GetBytes(keyBytes);
        try
        {
            var digestSalt = RandomNumberGenerator.GetBytes(LuksKeySlot.SaltLength);

            // Like QEMU (and cryptsetup), the digest gets an eighth of the time so that trying all
            // eight slots costs about one iter-time.
            var digestIterations = Math.Max(Pbkdf2Calibration.MinimumIterations,
                Pbkdf2Calibration.IterationsFor(options.Hash, LuksHeader.DigestLength, options.IterTimeMs) / 8);
            var digest = new byte[LuksHeader.DigestLength];
            LuksHash.Pbkdf2(masterKey, digestSalt, digest, digestIterations, options.Hash);

            var slotSectors = SlotSectors(keyBytes);
            var slots = new LuksKeySlot[LuksHeader.KeySlotCount];
            for (var i = 0; i < slots.Length; i++)
            {
                slots[i] = new LuksKeySlot { KeyMaterialOffsetSectors = LuksHeader.HeaderSectors + (uint)i * slotSectors, Stripes = LuksHeader.Stripes };
            }

            var header = new LuksHeader
            {
                CipherName = cipher.HeaderCipherName,
                CipherMode = cipher.HeaderCipherMode,
                HashSpec = LuksHash.NameOf(options.Hash),
                PayloadOffsetSectors = PayloadSectors(keyBytes),
                KeyBytes = (uint)keyBytes,
                MasterKeyDigest = digest,
                MasterKeyDigestSalt = digestSalt,
                MasterKeyDigestIterations = (uint)digestIterations,
                Uuid = Guid.NewGuid().ToString("D"),
                KeySlots = [.. slots],
            };
            if (storage.Length < AreaLength(cipher))
            {
                throw new ArgumentException("The LUKS area is too small for the key slots.", nameof(storage));
            }

            var volume = new LuksVolume(header, storage);
            volume.WriteKeySlot(0, masterKey, passphrase, options.IterTimeMs);
            return (volume, masterKey);
        }
        catch
        {
            CryptographicOperations.ZeroMemory(masterKey);
            throw;
        }
    }

    /// <summary>
    /// Recovers the master key with <paramref name="passphrase"/>, trying every active slot. Throws
    /// <see cref="InvalidPassphraseException"/> when none opens. The caller must zero the result.
    /// </summary>
    public byte[] Unlock(ReadOnlySpan<byte> passphrase) =>
        TryUnlock(passphrase, out var masterKey, out _) ? masterKey : throw new InvalidPassphraseException(WrongPassphraseMessage);

    /// <summary>Tries every active slot; on success returns the master key and the slot that opened.</summary>
    public bool TryUnlock(ReadOnlySpan<byte> passphrase, out byte[] masterKey, out int slotIndex)
    {
        for (slotIndex = 0; slotIndex < LuksHeader.KeySlotCount; slotIndex++)
        {
            if (Header.KeySlots[slotIndex].Active && TryUnlockSlot(slotIndex, passphrase, out masterKey))
            {
                return true;
            }
        }

        masterKey = [];
        slotIndex = -1;
        return false;
    }

    /// <summary>Whether <paramref name="masterKey"/> matches the header's digest.</summary>
    public bool VerifyMasterKey(ReadOnlySpan<byte> masterKey)
    {
        if (masterKey.Length != Header.KeyBytes)
        {
            return false;
        }

        Span<byte> digest = stackalloc byte[LuksHeader.DigestLength];
        LuksHash.Pbkdf2(masterKey, Header.MasterKeyDigestSalt, digest, (int)Header.MasterKeyDigestIterations, Header.Hash);
        return CryptographicOperations.FixedTimeEquals(digest, Header.MasterKeyDigest);
    }

    /// <summary>
    /// Wraps <paramref name="masterKey"/> (verified against the digest first) with <paramref name="passphrase"/>
    /// in slot <paramref name="slotIndex"/>, or in the first inactive slot when it is null. Returns the slot used.
    /// An active slot is replaced only with <paramref name="force"/> (<c>amend --force</c>).
    /// </summary>
    public int AddKey(ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> passphrase, int? slotIndex, long iterTimeMs, bool force = false)
    {
        if (!VerifyMasterKey(masterKey))
        {
            throw new InvalidPassphraseException(WrongPassphraseMessage);
        }

        int index;
        if (slotIndex is { } given)
        {
            if (!force)
            {
                RefuseActiveSlot(given);
            }

            CheckSlotIndex(given);
            index = given;
        }
        else
        {
            index = FirstInactiveSlot();
            if (index < 0)
            {
                throw new InvalidOptionException("Can't add a keyslot - all keyslots are in use");
            }
        }

        WriteKeySlot(index, masterKey, passphrase, iterTimeMs);
        return index;
    }

    /// <summary>
    /// Erases one active slot: its key material is overwritten with random bytes, then it is marked inactive. With
    /// <paramref name="force"/> an inactive slot is erased again rather than refused, as QEMU does.
    /// </summary>
    public void EraseKey(int slotIndex, bool force)
    {
        CheckSlotIndex(slotIndex);
        if (!force && !Header.KeySlots[slotIndex].Active)
        {
            throw new InvalidOptionException($"Given keyslot {slotIndex} is already erased (inactive) ");
        }

        if (!force && Header.KeySlots.Count(s => s.Active) == 1)
        {
            throw new InvalidOptionException($"Attempt to erase the only active keyslot {slotIndex} which will erase all the data in the image irreversibly - refusing operation");
        }

        Erase(slotIndex);
    }

    /// <summary>Erases every active slot <paramref name="passphrase"/> opens. Returns how many were erased.</summary>
    public int EraseKeysOpenedBy(ReadOnlySpan<byte> passphrase, bool force)
    {
        var matching = new List<int>();
        for (var i = 0; i < LuksHeader.KeySlotCount; i++)
        {
            if (Header.KeySlots[i].Active && TryUnlockSlot(i, passphrase, out var key))
            {
                CryptographicOperations.ZeroMemory(key);
                matching.Add(i);
            }
        }

        if (matching.Count == 0)
        {
            throw new InvalidOptionException("No keyslots match given (old) password for erase operation");
        }

        if (!force && matching.Count == Header.KeySlots.Count(s => s.Active))
        {
            throw new InvalidOptionException("All the active keyslots match the (old) password that was given and erasing them will erase all the data in the image irreversibly - refusing operation");
        }

        foreach (var index in matching)
        {
            Erase(index);
        }

        return matching.Count;
    }

    private bool TryUnlockSlot(int index, ReadOnlySpan<byte> passphrase, out byte[] masterKey)
    {
        var slot = Header.KeySlots[index];
        var cipher = Header.CipherSpec;
        var keyBytes = (int)Header.KeyBytes;
        var slotKey = new byte[keyBytes];
        var material = new byte[Header.KeyMaterialLength];
        masterKey = new byte[keyBytes];
        try
        {
            LuksHash.Pbkdf2(passphrase, slot.Salt, slotKey, (int)slot.Iterations, Header.Hash);
            _storage.Read((long)slot.KeyMaterialOffsetSectors * SectorCipher.SectorSize, material);
            using (var slotCipher = new SectorCipher(cipher, slotKey))
            {
                slotCipher.Decrypt(0, material);
            }

            AntiForensicSplitter.Merge(material, (int)slot.Stripes, Header.Hash, masterKey);
            if (VerifyMasterKey(masterKey))
            {
                return true;
            }

            CryptographicOperations.ZeroMemory(masterKey);
            masterKey = [];
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(slotKey);
            CryptographicOperations.ZeroMemory(material);
        }
    }

    private void WriteKeySlot(int index, ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> passphrase, long iterTimeMs)
    {
        var slot = Header.KeySlots[index];
        var keyBytes = (int)Header.KeyBytes;
        var iterations = Pbkdf2Calibration.IterationsFor(Header.Hash, keyBytes, iterTimeMs);
        var salt = RandomNumberGenerator.GetBytes(LuksKeySlot.SaltLength);
        var slotKey = new byte[keyBytes];
        var material = new byte[Header.KeyMaterialLength];
        try
        {
            LuksHash.Pbkdf2(passphrase, salt, slotKey, iterations, Header.Hash);
            AntiForensicSplitter.Split(masterKey, (int)slot.Stripes, Header.Hash, material);
            using (var slotCipher = new SectorCipher(Header.CipherSpec, slotKey))
            {
                slotCipher.Encrypt(0, material);
            }

            // Key material first, header last: a crash in between leaves the slot inactive, not broken.
            _storage.Write((long)slot.KeyMaterialOffsetSectors * SectorCipher.SectorSize, material);
            var updated = Header.WithSlot(index, slot with { Active = true, Iterations = (uint)iterations, Salt = salt });
            _storage.Write(0, updated.ToArray());
            Header = updated;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(slotKey);
            CryptographicOperations.ZeroMemory(material);
        }
    }

    private void Erase(int index)
    {
        var slot = Header.KeySlots[index];
        var garbage = RandomNumberGenerator.GetBytes(Header.KeyMaterialLength);
        _storage.Write((long)slot.KeyMaterialOffsetSectors * SectorCipher.SectorSize, garbage);
        var updated = Header.WithSlot(index, slot.Deactivated());
        _storage.Write(0, updated.ToArray());
        Header = updated;
    }

    private int FirstInactiveSlot()
    {
        for (var i = 0; i < LuksHeader.KeySlotCount; i++)
        {
            if (!Header.KeySlots[i].Active)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>QEMU's refusal to replace an active slot without <c>--force</c>, made before any passphrase is tried.</summary>
    public void RefuseActiveSlot(int slotIndex)
    {
        CheckSlotIndex(slotIndex);
        if (Header.KeySlots[slotIndex].Active)
        {
            throw new InvalidOptionException($"Refusing to overwrite active keyslot {slotIndex} - please erase it first");
        }
    }

    private static void CheckSlotIndex(int index)
    {
        if (index is < 0 or >= LuksHeader.KeySlotCount)
        {
            throw new InvalidOptionException($"Invalid keyslot {index} specified, must be between 0 and {LuksHeader.KeySlotCount - 1}");
        }
    }

    /// <summary>Sectors per key slot: the split key rounded up to 4 KiB.</summary>
    private static uint SlotSectors(int keyBytes)
    {
        var sectors = ((long)keyBytes * LuksHeader.Stripes + SectorCipher.SectorSize - 1) / SectorCipher.SectorSize;
        return (uint)((sectors + LuksHeader.HeaderSectors - 1) / LuksHeader.HeaderSectors * LuksHeader.HeaderSectors);
    }

    private static uint PayloadSectors(int keyBytes) => LuksHeader.HeaderSectors + LuksHeader.KeySlotCount * SlotSectors(keyBytes);
}
