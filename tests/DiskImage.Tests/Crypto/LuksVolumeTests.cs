using System.Security.Cryptography;
using DiskImage.Crypto;

namespace DiskImage.Tests.Crypto;

public class LuksVolumeTests
{
    private static readonly LuksCreateOptions s_fast = new() { IterTimeMs = 5 };

    private static (MemoryLuksStorage Storage, LuksVolume Volume, byte[] MasterKey) Format(LuksCreateOptions options, string passphrase)
    {
        var storage = new MemoryLuksStorage((int)LuksVolume.AreaLength(options.Cipher));
        var (volume, masterKey) = LuksVolume.Format(storage, options, System.Text.Encoding.UTF8.GetBytes(passphrase));
        return (storage, volume, masterKey);
    }

    [Fact]
    public void Default_layout_matches_qemu_img()
    {
        // qemu-img 7.2, aes-256 xts: payload at 2068480 bytes, slots at 4096 + n * 258048.
        var (_, volume, _) = Format(s_fast, "secret");
        Assert.Equal(2068480, LuksVolume.AreaLength(LuksCipherSpec.Default));
        Assert.Equal(4040u, volume.Header.PayloadOffsetSectors);
        Assert.Equal([8u, 512u, 1016u, 1520u, 2024u, 2528u, 3032u, 3536u], volume.Header.KeySlots.Select(s => s.KeyMaterialOffsetSectors));
        Assert.Equal("xts-plain64", volume.Header.CipherMode);
        Assert.Equal(64u, volume.Header.KeyBytes);
        Assert.Equal([true, false, false, false, false, false, false, false], volume.Header.KeySlots.Select(s => s.Active));
    }

    [Theory]
    [InlineData("aes-256", "xts", "plain64", null, "sha256")]
    [InlineData("aes-128", "cbc", "essiv", "sha256", "sha1")]
    [InlineData("aes-192", "cbc", "plain", null, "sha512")]
    [InlineData("serpent-192", "ctr", "plain64", null, "ripemd160")]
    [InlineData("cast5-128", "cbc", "essiv", "md5", "sha224")]
    [InlineData("twofish-256", "ecb", "plain64", null, "md5")]
    public void The_passphrase_unlocks_the_master_key_and_a_wrong_one_does_not(string alg, string mode, string ivgen, string? ivHash, string hash)
    {
        var options = s_fast with { Cipher = LuksCipherSpec.FromOptions(alg, mode, ivgen, ivHash), Hash = LuksHash.Parse(hash) };
        var (storage, _, masterKey) = Format(options, "correct horse");

        var reopened = LuksVolume.Open(storage);
        Assert.Equal(masterKey, reopened.Unlock("correct horse"u8));
        var e = Assert.Throws<InvalidPassphraseException>(() => reopened.Unlock("battery staple"u8));
        Assert.Equal("Invalid password, cannot unlock any keyslot", e.Message);
    }

    [Fact]
    public void Iteration_counts_never_fall_below_qemus_floor()
    {
        var (_, volume, _) = Format(s_fast with { IterTimeMs = 1 }, "x");
        Assert.True(volume.Header.MasterKeyDigestIterations >= 1000);
        Assert.True(volume.Header.KeySlots[0].Iterations >= 1000);
        Assert.Equal(1000, Pbkdf2Calibration.Scale(0.5, 10));
        Assert.Equal(20_000, Pbkdf2Calibration.Scale(10, 2000));
        Assert.Throws<InvalidOptionException>(() => Pbkdf2Calibration.Scale(10, 0));
    }

    [Fact]
    public void Calibration_grows_with_iter_time()
    {
        var shortRun = Pbkdf2Calibration.IterationsFor(HashAlgorithmName.SHA256, 32, 10);
        var longRun = Pbkdf2Calibration.IterationsFor(HashAlgorithmName.SHA256, 32, 200);
        // Timing-based: under a loaded machine only the direction is dependable, not the ratio.
        Assert.True(longRun > shortRun, $"{shortRun} -> {longRun}");
    }

    [Fact]
    public void Added_keys_open_the_same_volume_and_erased_ones_stop_working()
    {
        var (storage, volume, masterKey) = Format(s_fast, "first");

        Assert.Equal(3, volume.AddKey(masterKey, "second"u8, 3, 5));
        Assert.Equal(1, volume.AddKey(masterKey, "third"u8, null, 5));
        var reopened = LuksVolume.Open(storage);
        Assert.Equal(masterKey, reopened.Unlock("second"u8));
        Assert.True(reopened.TryUnlock("third"u8, out _, out var slot));
        Assert.Equal(1, slot);

        reopened.EraseKey(3, force: false);
        Assert.Equal(1, reopened.EraseKeysOpenedBy("first"u8, force: false));
        reopened = LuksVolume.Open(storage);
        Assert.Throws<InvalidPassphraseException>(() => reopened.Unlock("second"u8));
        Assert.Throws<InvalidPassphraseException>(() => reopened.Unlock("first"u8));
        Assert.Equal(masterKey, reopened.Unlock("third"u8));
        Assert.Equal([false, true, false, false, false, false, false, false], reopened.Header.KeySlots.Select(s => s.Active));
        Assert.All(reopened.Header.KeySlots.Where(s => !s.Active), s => Assert.Equal(0u, s.Iterations));
    }

    [Fact]
    public void Key_slot_changes_are_refused_the_way_qemu_refuses_them()
    {
        var (_, volume, masterKey) = Format(s_fast, "only");

        Assert.Contains("Refusing to overwrite active keyslot 0", Assert.Throws<InvalidOptionException>(() => volume.AddKey(masterKey, "x"u8, 0, 5)).Message, StringComparison.Ordinal);
        Assert.Contains("must be between 0 and 7", Assert.Throws<InvalidOptionException>(() => volume.AddKey(masterKey, "x"u8, 8, 5)).Message, StringComparison.Ordinal);
        Assert.Contains("only active keyslot", Assert.Throws<InvalidOptionException>(() => volume.EraseKey(0, force: false)).Message, StringComparison.Ordinal);
        Assert.Contains("already erased", Assert.Throws<InvalidOptionException>(() => volume.EraseKey(4, force: false)).Message, StringComparison.Ordinal);
        volume.EraseKey(4, force: true);
        Assert.Contains("No keyslots match", Assert.Throws<InvalidOptionException>(() => volume.EraseKeysOpenedBy("nope"u8, force: false)).Message, StringComparison.Ordinal);
        Assert.Contains("All the active keyslots", Assert.Throws<InvalidOptionException>(() => volume.EraseKeysOpenedBy("only"u8, force: false)).Message, StringComparison.Ordinal);

        var wrongKey = masterKey.ToArray();
        wrongKey[0] ^= 1;
        Assert.Throws<InvalidPassphraseException>(() => volume.AddKey(wrongKey, "x"u8, null, 5));
        Assert.Equal(1, volume.Header.KeySlots.Count(s => s.Active));
    }

    [Fact]
    public void Every_slot_full_refuses_another_key()
    {
        var (_, volume, masterKey) = Format(s_fast with { IterTimeMs = 1 }, "p0");
        for (var i = 1; i < 8; i++)
        {
            volume.AddKey(masterKey, "p"u8, null, 1);
        }

        Assert.Equal("Can't add a keyslot - all keyslots are in use", Assert.Throws<InvalidOptionException>(() => volume.AddKey(masterKey, "p"u8, null, 1)).Message);
    }

    [Fact]
    public void Data_uses_host_sector_numbers_as_IVs()
    {
        var (_, volume, masterKey) = Format(s_fast, "k");
        using var encryption = new LuksEncryption(volume.Header.CipherSpec, masterKey);
        var plain = RandomNumberGenerator.GetBytes(4096);

        var atHost = plain.ToArray();
        encryption.Encrypt(guestOffset: 0, hostOffset: 65536, atHost);
        var sameGuestOtherHost = plain.ToArray();
        encryption.Encrypt(guestOffset: 0, hostOffset: 131072, sameGuestOtherHost);
        Assert.NotEqual(atHost, sameGuestOtherHost);

        // The guest offset plays no part in LUKS decryption.
        var decrypted = atHost.ToArray();
        encryption.Decrypt(guestOffset: 8192, hostOffset: 65536, decrypted);
        Assert.Equal(plain, decrypted);
    }
}
