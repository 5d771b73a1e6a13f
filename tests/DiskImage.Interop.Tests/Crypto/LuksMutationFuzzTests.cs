using System.Buffers.Binary;
using System.Text;
using DiskImage.Formats;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Reliability;

namespace DiskImage.Interop.Tests.Crypto;

/// <summary>
/// The LUKS header parser under the mutation fuzzer: the LUKS1 header (its fields and the key slot table) and the start
/// of the active key slot's material of qemu-made images, standalone <c>luks</c> and qcow2 with <c>encrypt.format=luks</c>
/// (where the LUKS area is found through the qcow2 crypto header extension), are corrupted at random, then opened with
/// the right secret, read, described and converted. Anything but a <see cref="DiskImageException"/>, a hang, a stack
/// trace, an exit by signal or a multi-line <c>info</c> error is a finding.
/// </summary>
public class LuksMutationFuzzTests
{
    private const int Seed = 20261201;
    private const string Passphrase = "123456";
    private static readonly string[] s_secret = ["--object", $"secret,id=sec0,data={Passphrase}"];

    public static TheoryData<string> Seeds => new() { "luks", "luks-cbc-essiv", "qcow2-luks" };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Mutated_luks_headers_fail_cleanly(string seedName)
    {
        using var dir = new TempDirectory();
        var (path, regions) = MakeSeed(dir, seedName);
        var original = File.ReadAllBytes(path);
        var baseSeed = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_SEED"), out var chosen) ? chosen : Seed;
        var random = new Random(baseSeed ^ (seedName.Length << 4) ^ seedName[^1]);
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n : 20;
        var mutant = dir.File(seedName == "qcow2-luks" ? "mutant.qcow2" : "mutant.luks");
        var failures = new List<string>();
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var bytes = (byte[])original.Clone();
            var description = MutationFuzzTests.Mutator.Mutate(bytes, regions, random);
            File.WriteAllBytes(mutant, bytes);
            var failure = Exercise(mutant, seedName == "qcow2-luks" ? "qcow2" : "luks");
            if (failure is not null)
            {
                var keep = Path.Combine(Path.GetTempPath(), $"diskimg-finding-{seedName}-{i}{Path.GetExtension(mutant)}");
                File.Copy(mutant, keep, overwrite: true);
                failures.Add($"#{i} {description}: {failure} (kept as {keep})");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private static string? Exercise(string path, string format)
    {
        var task = Task.Run(() => ExerciseCore(path, format));
        // Unlocking runs PBKDF2 with the header's iteration counts (up to the library's cap), so allow for that.
        return task.Wait(TimeSpan.FromSeconds(120)) ? task.Result : "hang (no answer within the time limit)";
    }

    private static string? ExerciseCore(string path, string format)
    {
        try
        {
            var options = new ImageOpenOptions
            {
                KeySecret = "sec0",
                SecretProvider = id => id == "sec0" ? Encoding.UTF8.GetBytes(Passphrase) : null,
            };
            using var image = ImageFormatRegistry.Default.Open(path, null, options);
            _ = image.GetInfo();
            var buffer = new byte[64 * 1024];
            for (var offset = 0L; offset < Math.Min(image.Length, 1L << 20); offset += buffer.Length)
            {
                image.Read(offset, buffer.AsSpan(0, (int)Math.Min(buffer.Length, image.Length - offset)));
            }
        }
        catch (DiskImageException)
        {
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }

        var opts = format == "luks" ? $"driver=luks,key-secret=sec0,file.filename={path}" : $"driver=qcow2,encrypt.key-secret=sec0,file.filename={path}";
        var converted = path + ".converted.raw";
        string[][] commands =
        [
            ["info", path],
            ["info", .. s_secret, "--image-opts", opts],
            ["io", .. s_secret, "--image-opts", opts, "-c", "read 0 64k", "-c", "write -P 0x5a 4096 4096"],
            ["convert", .. s_secret, "--image-opts", opts, "-O", "raw", converted],
        ];
        foreach (var command in commands)
        {
            var result = Diskimg.Run(command);
            var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (result.StdErr.Contains("   at ", StringComparison.Ordinal) || result.ExitCode >= 128 || (result.ExitCode == 1 && lines.Length > 1 && command[0] == "info"))
            {
                return $"'diskimg {string.Join(' ', command)}' exited {result.ExitCode} with: {result.StdErr.Trim()}";
            }

            File.Delete(converted);
        }

        return null;
    }

    private static (string Path, MutationFuzzTests.MetadataRegions Regions) MakeSeed(TempDirectory dir, string name)
    {
        var path = dir.File(name == "qcow2-luks" ? "seed.qcow2" : "seed.luks");
        string[] create = name switch
        {
            "qcow2-luks" => ["-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10"],
            "luks-cbc-essiv" => ["-f", "luks", "-o", "key-secret=sec0,iter-time=10,cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256,hash-alg=sha1"],
            _ => ["-f", "luks", "-o", "key-secret=sec0,iter-time=10"],
        };
        ExternalTool.QemuImg(["create", "-q", .. s_secret, .. create, path, "1M"]);
        var opts = name == "qcow2-luks" ? $"driver=qcow2,encrypt.key-secret=sec0,file.filename={path}" : $"driver=luks,key-secret=sec0,file.filename={path}";
        ExternalTool.QemuIo([.. s_secret, "--image-opts", "-c", "write -P 0x31 0 128k", "-c", "write -P 0x32 512k 64k", opts]);

        var bytes = File.ReadAllBytes(path);
        var luks = name == "qcow2-luks" ? CryptoHeaderOffset(bytes) : 0;
        Assert.Equal("LUKS"u8.ToArray(), bytes[luks..(luks + 4)]);

        // The header fields, the key slot table, and the first bytes of slot 0's key material (as the header says).
        var slot0Material = luks + ((int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(luks + 208 + 40)) * 512);
        List<(int Offset, int Length, string Name)> regions =
        [
            (luks, 208, "LUKS header fields"),
            (luks + 208, 8 * 48, "key slot table"),
            (luks + 208, 48, "key slot 0"),
            (slot0Material, 512, "key material"),
        ];
        return (path, new MutationFuzzTests.MetadataRegions(65536, regions));
    }

    /// <summary>Where qcow2's crypto header extension (0x0537be77) puts the LUKS area of a qemu-made image.</summary>
    private static int CryptoHeaderOffset(byte[] file)
    {
        var position = (int)BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(100));
        while (position + 8 <= 65536)
        {
            var magic = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(position));
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(position + 4));
            if (magic == 0x0537be77)
            {
                return (int)BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan(position + 8));
            }

            Assert.NotEqual(0u, magic);
            position += 8 + ((length + 7) & ~7);
        }

        throw new InvalidDataException("no crypto header extension in the seed");
    }
}
