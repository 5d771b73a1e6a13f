using System.Text;
using DiskImage.Crypto;

namespace DiskImage.Tests.Crypto;

public class LuksAmendOptionsTests
{
    private static readonly Dictionary<string, byte[]> s_secrets = new()
    {
        ["k0"] = Encoding.UTF8.GetBytes("zero"),
        ["k1"] = Encoding.UTF8.GetBytes("one"),
    };

    private static byte[]? Lookup(string? id) => id is not null && s_secrets.TryGetValue(id, out var value) ? value : null;

    private static Dictionary<string, string> Keys(params string[] pairs) =>
        pairs.Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    [Fact]
    public void Adds_a_key_with_the_opening_secret_then_erases_by_old_secret()
    {
        var storage = new MemoryLuksStorage((int)LuksVolume.AreaLength(LuksCipherSpec.Default));
        var (volume, masterKey) = LuksVolume.Format(storage, new LuksCreateOptions { IterTimeMs = 5 }, s_secrets["k0"]);

        LuksAmendOptions.FromKeyValues(Keys("encrypt.state=active", "encrypt.new-secret=k1", "encrypt.keyslot=2", "encrypt.iter-time=5"))
            .Apply(volume, Lookup, keySecret: "k0");
        Assert.True(volume.TryUnlock(s_secrets["k1"], out var viaNew, out var slot));
        Assert.Equal(masterKey, viaNew);
        Assert.Equal(2, slot);

        LuksAmendOptions.FromKeyValues(Keys("encrypt.state=inactive", "encrypt.old-secret=k0")).Apply(volume, Lookup, "k1");
        Assert.False(volume.TryUnlock(s_secrets["k0"], out _, out _));
        Assert.Equal([false, false, true, false, false, false, false, false], LuksVolume.Open(storage).Header.KeySlots.Select(s => s.Active));
    }

    [Theory]
    [InlineData("'new-secret' is required", "encrypt.state=active")]
    [InlineData("must not be given", "encrypt.state=inactive", "encrypt.new-secret=k1", "encrypt.keyslot=1")]
    [InlineData("'keyslot' or 'old-secret'", "encrypt.state=inactive")]
    [InlineData("can't both", "encrypt.state=inactive", "encrypt.keyslot=1", "encrypt.old-secret=k0")]
    [InlineData("between 0 and 7", "encrypt.state=inactive", "encrypt.keyslot=9")]
    [InlineData("'encrypt.cipher-alg'", "encrypt.state=active", "encrypt.new-secret=k1", "encrypt.cipher-alg=aes-128")]
    [InlineData("'encrypt.state' is required", "encrypt.new-secret=k1")]
    public void Invalid_combinations_are_refused(string message, params string[] pairs)
    {
        var e = Assert.Throws<InvalidOptionException>(() => LuksAmendOptions.FromKeyValues(Keys(pairs)));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_secret_is_named()
    {
        var storage = new MemoryLuksStorage((int)LuksVolume.AreaLength(LuksCipherSpec.Default));
        var (volume, _) = LuksVolume.Format(storage, new LuksCreateOptions { IterTimeMs = 5 }, s_secrets["k0"]);
        var add = LuksAmendOptions.FromKeyValues(Keys("encrypt.state=active", "encrypt.new-secret=nope"));

        Assert.Equal("No secret with id 'nope'", Assert.Throws<InvalidOptionException>(() => add.Apply(volume, Lookup, "k0")).Message);
        Assert.Equal("Parameter 'encrypt.key-secret' is required for cipher", Assert.Throws<InvalidOptionException>(() => add.Apply(volume, Lookup, null)).Message);
        var addK0 = LuksAmendOptions.FromKeyValues(Keys("encrypt.state=active", "encrypt.new-secret=k0"));
        Assert.Throws<InvalidPassphraseException>(() => addK0.Apply(volume, Lookup, "k1"));
    }
}
