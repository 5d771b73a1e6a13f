using System.Security.Cryptography;
using CsCheck;
using DiskImage.Crypto;

namespace DiskImage.Tests.Crypto;

public class AntiForensicSplitterTests
{
    public static TheoryData<string> Hashes => new() { "sha1", "sha256", "sha512" };

    [Theory]
    [MemberData(nameof(Hashes))]
    public void Merge_recovers_what_split_stored(string hashName)
    {
        var hash = LuksHash.Parse(hashName);
        Gen.Select(Gen.Int[1, 80], Gen.Int[1, 50]).SelectMany((length, stripes) => Gen.Byte.Array[length].Select(key => (key, stripes)))
            .Sample(t =>
            {
                var material = new byte[t.key.Length * t.stripes];
                AntiForensicSplitter.Split(t.key, t.stripes, hash, material);
                var merged = new byte[t.key.Length];
                AntiForensicSplitter.Merge(material, t.stripes, hash, merged);
                return merged.AsSpan().SequenceEqual(t.key);
            }, iter: 200);
    }

    [Fact]
    public void Damaging_any_stripe_destroys_the_key()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var material = new byte[32 * 4000];
        AntiForensicSplitter.Split(key, 4000, HashAlgorithmName.SHA256, material);
        material[17 * 32 + 5] ^= 1;

        var merged = new byte[32];
        AntiForensicSplitter.Merge(material, 4000, HashAlgorithmName.SHA256, merged);
        Assert.NotEqual(key, merged);
    }

    [Fact]
    public void Stripes_look_random_rather_than_repeating_the_key()
    {
        var key = new byte[32];
        var material = new byte[32 * 100];
        AntiForensicSplitter.Split(key, 100, HashAlgorithmName.SHA256, material);
        Assert.True(material.Count(b => b == 0) < material.Length / 16);
    }
}
