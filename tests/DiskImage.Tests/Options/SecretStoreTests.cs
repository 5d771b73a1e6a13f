using DiskImage.Options;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Options;

public class SecretStoreTests
{
    [Fact]
    public void Secrets_come_from_data_files_and_base64()
    {
        using var dir = new TempDirectory();
        var file = dir.File("pass");
        File.WriteAllBytes(file, "from file\n"u8.ToArray());

        var store = SecretStore.FromObjects([
            "secret,id=s0,data=plain,,with comma",
            $"secret,id=s1,file={file}",
            "qom-type=secret,id=s2,data=aGVsbG8=,format=base64",
        ]);

        Assert.Equal("plain,with comma"u8.ToArray(), store.Get("s0"));
        Assert.Equal("from file\n"u8.ToArray(), store.Get("s1"));
        Assert.Equal("hello"u8.ToArray(), store.Get("s2"));
        Assert.Null(store.Get("s3"));
        Assert.Null(store.Get(null));
    }

    [Theory]
    [InlineData("secret,data=x", "'id'")]
    [InlineData("secret,id=a", "Either 'file' or 'data' must be provided")]
    [InlineData("secret,id=a,data=x,file=y", "mutually exclusive")]
    [InlineData("secret,id=a,data=x,format=hex", "'format'")]
    [InlineData("secret,id=a,data=x,keyid=k", "No secret with id 'k'")]
    [InlineData("secret,id=a,data=x,bogus=1", "Parameter 'bogus' is unexpected")]
    [InlineData("secret,id=1a,data=x", "Parameter 'id' expects an identifier")]
    [InlineData("secret,id=a,data=x,loaded=on", "Property 'secret.loaded' is not writable")]
    [InlineData("memory-backend-ram,id=a", "'memory-backend-ram'")]
    [InlineData("throttle-group,id=a,x-bps-read=-1", "Property values cannot be negative")]
    [InlineData("throttle-group,id=a,x-bps-read-max=5", "bps_max/iops_max require corresponding bps/iops values")]
    [InlineData("throttle-group,id=a,limits.bps-read=1k", "Parameter 'limits.bps-read' expects integer")]
    [InlineData("secret,id=a,data=!!,format=base64", "Base64 data contains invalid characters")]
    public void Bad_definitions_are_refused_with_the_reason(string definition, string reason)
    {
        var e = Assert.Throws<InvalidOptionException>(() => SecretStore.FromObjects([definition]));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pass")]
    [InlineData("exactly sixteen!")]
    [InlineData("")]
    public void An_encrypted_secret_holds_its_plaintext(string plaintext)
    {
        var key = Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray();
        var iv = Enumerable.Range(0, 16).Select(i => (byte)(255 - i)).ToArray();
        using var aes = System.Security.Cryptography.Aes.Create();
        aes.Key = key;
        var ciphertext = aes.EncryptCbc(System.Text.Encoding.UTF8.GetBytes(plaintext), iv, System.Security.Cryptography.PaddingMode.PKCS7);
        using var store = SecretStore.FromObjects([
            $"secret,id=k,format=base64,data={Convert.ToBase64String(key)}",
            $"secret,id=s,format=base64,data={Convert.ToBase64String(ciphertext)},keyid=k,iv={Convert.ToBase64String(iv)}",
        ]);
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes(plaintext), store.Get("s"));
    }

    [Fact]
    public void Throttle_groups_live_as_long_as_the_store()
    {
        var store = SecretStore.FromObjects(["throttle-group,id=tg-life,x-bps-read=1000", "secret,id=s,data=x"]);
        Assert.NotNull(DiskImage.Formats.Filters.Throttle.ThrottleGroups.Find("tg-life"));
        store.Dispose();
        Assert.Null(DiskImage.Formats.Filters.Throttle.ThrottleGroups.Find("tg-life"));

        // A refused object takes the groups defined before it along.
        Assert.Throws<InvalidOptionException>(() => SecretStore.FromObjects(["throttle-group,id=tg-gone", "throttle-group,id=tg-gone"]));
        Assert.Null(DiskImage.Formats.Filters.Throttle.ThrottleGroups.Find("tg-gone"));
    }

    [Fact]
    public void Image_opts_name_the_driver_file_and_key_secret()
    {
        var opts = ImageOpts.Parse("driver=qcow2,file.filename=/tmp/a,,b.qcow2,encrypt.key-secret=sec0");
        Assert.Equal(("qcow2", "/tmp/a,b.qcow2", "sec0"), (opts.Driver, opts.Filename, opts.KeySecret));

        // QEMU counts a qcow2 node's encrypt.key-secret among the options that shape its name: the image goes by its
        // JSON description, as `qemu-img info --image-opts` shows it.
        Assert.StartsWith("json:", opts.OpenName, StringComparison.Ordinal);
        Assert.Throws<InvalidOptionException>(() => ImageOpts.Parse("driver=qcow2"));
        Assert.Equal("Block format 'qcow2' does not support the option 'bogus'", Assert.Throws<InvalidOptionException>(() => ImageOpts.Parse("driver=qcow2,file.filename=x,bogus=on")).Message);
    }

    [Fact]
    public void A_backing_key_secret_is_the_backing_files_not_the_images()
    {
        // Each layer may have its own secret (iotests 189, 198): the backing one never unlocks the image itself.
        Assert.Equal("s0", ImageOpts.Parse("file.filename=x,encrypt.key-secret=s0,backing.encrypt.key-secret=s0").KeySecret);
        Assert.Null(ImageOpts.Parse("file.filename=x,backing.encrypt.key-secret=s1").KeySecret);
        Assert.Equal("s0", ImageOpts.Parse("file.filename=x,encrypt.key-secret=s0,backing.encrypt.key-secret=s1").KeySecret);
    }

    [Fact]
    public void Disposing_the_store_wipes_its_passphrases()
    {
        var store = SecretStore.FromObjects(["secret,id=a,data=first"]);
        var first = store.Get("a")!;
        store.Add("a", [1, 2, 3]);
        var second = store.Get("a")!;
        store.Dispose();

        Assert.All(first, b => Assert.Equal(0, b));
        Assert.All(second, b => Assert.Equal(0, b));
        Assert.Null(store.Get("a"));
    }
}
