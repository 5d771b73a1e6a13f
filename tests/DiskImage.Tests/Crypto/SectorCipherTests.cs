using DiskImage.Crypto;

namespace DiskImage.Tests.Crypto;

/// <summary>CBC sector modes against answers computed with the openssl command line (enc -aes-*-cbc / -ecb, dgst -sha256).</summary>
public class SectorCipherTests
{
    private static byte[] Pattern(int length) => Enumerable.Range(0, length).Select(i => (byte)i).ToArray();

    private static byte[] Key(int length, int multiplier, int add) => Enumerable.Range(0, length).Select(i => (byte)(i * multiplier + add)).ToArray();

    [Fact]
    public void Cbc_plain64_uses_the_little_endian_sector_number_as_IV()
    {
        var spec = LuksCipherSpec.FromOptions("aes-128", "cbc", "plain64", null);
        using var cipher = new SectorCipher(spec, Key(16, 11, 1));
        var data = Pattern(512);

        cipher.Encrypt(7, data);

        // openssl enc -aes-128-cbc -K 010c17...a6 -iv 07000000000000000000000000000000 -nopad: last 32 bytes.
        Assert.Equal("887c5a481d983551c0e38baca020566ce91e19a543bbed53c81ba57ded1bfdbe", Convert.ToHexStringLower(data.AsSpan(480)));
        cipher.Decrypt(7, data);
        Assert.Equal(Pattern(512), data);
    }

    [Fact]
    public void Cbc_essiv_encrypts_the_sector_number_with_the_hashed_key()
    {
        var spec = LuksCipherSpec.FromOptions("aes-256", "cbc", "essiv", "sha256");
        using var cipher = new SectorCipher(spec, Key(32, 5, 2));
        var data = Pattern(1024);

        cipher.Encrypt(8, data);

        // Sector 9 (the second): IV = AES-256-ECB(sha256(key), le64(9)) = 4bf6e60a14d79a18d6eb4da152a95e06.
        Assert.Equal("dc76d93868d9530b1fb05eba48cfe36f269c8129e142e7f59eebf3636cf112d2", Convert.ToHexStringLower(data.AsSpan(1024 - 32)));
        cipher.Decrypt(8, data);
        Assert.Equal(Pattern(1024), data);
    }

    [Fact]
    public void A_short_last_piece_is_encrypted_with_the_next_sector_number()
    {
        var spec = LuksCipherSpec.FromOptions("aes-256", "xts", "plain64", null);
        var key = Key(64, 7, 3);
        using var cipher = new SectorCipher(spec, key);
        var whole = Pattern(1024);
        cipher.Encrypt(0, whole);

        var shortened = Pattern(768);
        cipher.Encrypt(0, shortened);

        // XTS blocks depend only on their own position, so the 256-byte tail equals the head of sector 1.
        Assert.Equal(whole.AsSpan(0, 768).ToArray(), shortened);
        cipher.Decrypt(0, shortened);
        Assert.Equal(Pattern(768), shortened);
    }

    [Theory]
    [InlineData("aes-128", "xts", "plain64", null, "xts-plain64", 32)]
    [InlineData("aes-256", "xts", "plain", null, "xts-plain", 64)]
    [InlineData("aes-256", "cbc", "essiv", "sha256", "cbc-essiv:sha256", 32)]
    [InlineData("aes-192", "cbc", "plain64", null, "cbc-plain64", 24)]
    public void Options_map_to_header_strings_and_back(string alg, string mode, string ivgen, string? ivHash, string headerMode, int keyBytes)
    {
        var spec = LuksCipherSpec.FromOptions(alg, mode, ivgen, ivHash);
        Assert.Equal(headerMode, spec.HeaderCipherMode);
        Assert.Equal(keyBytes, spec.MasterKeyBytes);
        Assert.Equal(spec, LuksCipherSpec.FromHeader("aes", headerMode, (uint)keyBytes));
    }

    [Theory]
    [InlineData("twofish", "xts-plain64", 64u, "twofish-256", "xts")]
    [InlineData("serpent", "cbc-essiv:sha256", 24u, "serpent-192", "cbc")]
    [InlineData("cast5", "ctr-plain", 16u, "cast5-128", "ctr")]
    [InlineData("aes", "ecb-plain64", 32u, "aes-256", "ecb")]
    public void Every_cipher_and_mode_qemu_reads_is_read(string name, string mode, uint keyBytes, string alg, string modeName)
    {
        var spec = LuksCipherSpec.FromHeader(name, mode, keyBytes);
        Assert.Equal(alg, spec.CipherAlgName);
        Assert.Equal(modeName, spec.CipherModeName);
        Assert.Equal(mode, spec.HeaderCipherMode);
        Assert.Equal(name, spec.HeaderCipherName);
    }

    /// <summary>What QEMU itself refuses, in its words (crypto/block-luks.c): an unknown IV generator, an ESSIV hash with no AES key size.</summary>
    [Theory]
    [InlineData("xts-benbi", 64u, "IV generator 'benbi' not supported")]
    [InlineData("cbc-essiv:sha512", 32u, "No AES cipher with key size 64 available")]
    [InlineData("cbc-essiv:ripemd160", 16u, "No AES cipher with key size 20 available")]
    public void Ciphers_qemu_refuses_are_refused_in_its_words(string mode, uint keyBytes, string message) =>
        Assert.Equal(message, Assert.Throws<InvalidImageException>(() => LuksCipherSpec.FromHeader("aes", mode, keyBytes)).Message);

    [Theory]
    [InlineData("xts-plain64", 0u)]
    [InlineData("xts-plain64", 33u)]
    [InlineData("cbc-plain64", 4000000u)]
    public void Impossible_key_lengths_are_corrupt(string mode, uint keyBytes) =>
        Assert.Throws<InvalidImageException>(() => LuksCipherSpec.FromHeader("aes", mode, keyBytes));

    [Fact]
    public void Legacy_aes_is_aes_128_cbc_keyed_by_the_zero_padded_passphrase_with_guest_sector_IVs_both_ways()
    {
        using var legacy = new LegacyAesEncryption("abc"u8);

        // openssl enc -aes-128-cbc -K 61626300000000000000000000000000 -iv 28000000000000000000000000000000 -nopad:
        // the last two blocks of sector 40 (0x28) holding bytes 0..255, 0..255.
        var data = Pattern(512);
        var expectedTail = Convert.FromHexString("7aa8109304b2e6bd594be9d523962c96738e7659351a7c394b391ad4519d12e4");
        using (var aes = System.Security.Cryptography.Aes.Create())
        {
            aes.Key = Convert.FromHexString("61626300000000000000000000000000");
            data = aes.EncryptCbc(data, Convert.FromHexString("28000000000000000000000000000000"), System.Security.Cryptography.PaddingMode.None);
        }

        Assert.Equal(expectedTail, data.AsSpan(480).ToArray());
        var ours = Pattern(512);
        Assert.True(legacy.CanEncrypt);
        legacy.Encrypt(guestOffset: 40 * 512, hostOffset: 123 * 512, ours);
        Assert.Equal(data, ours);

        legacy.Decrypt(guestOffset: 40 * 512, hostOffset: 123 * 512, data);
        Assert.Equal(Pattern(512), data);
    }
}
