using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using DiskImage.IO.Ssh;
using DiskImage.Options;

namespace DiskImage.Tests.IO;

/// <summary>
/// The ssh driver's host key checks without a server: known_hosts lookups (plain, bracketed, wildcard, negated and
/// hashed host fields; other key types; changed keys; markers), the hash comparison QEMU makes, the refusal lines,
/// and the wire parsers (agent replies, key blobs) under random mutation.
/// </summary>
public sealed class SshHostKeyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("diskimg-ssh-").FullName;

    private static readonly byte[] s_key = Blob("ssh-ed25519", 32, 1);
    private static readonly byte[] s_otherKey = Blob("ssh-ed25519", 32, 2);
    private static readonly byte[] s_rsaKey = Blob("ssh-rsa", 64, 3);

    private static byte[] Blob(string type, int length, byte fill)
    {
        var name = Encoding.ASCII.GetBytes(type);
        var blob = new byte[4 + name.Length + 4 + length];
        BinaryPrimitives.WriteInt32BigEndian(blob, name.Length);
        name.CopyTo(blob, 4);
        BinaryPrimitives.WriteInt32BigEndian(blob.AsSpan(4 + name.Length), length);
        blob.AsSpan(8 + name.Length).Fill(fill);
        return blob;
    }

    private static string Line(string hosts, byte[] blob) => $"{hosts} {new WireReader(blob).Text()} {Convert.ToBase64String(blob)}";

    private KnownHostState Check(string host, int port, byte[] key, params string[] lines)
    {
        var file = Path.Combine(_dir, "known_hosts");
        File.WriteAllLines(file, lines);
        return KnownHosts.Check(host, port, key, [file]);
    }

    [Theory]
    [InlineData("example.org", 22, "example.org", "Ok")]
    [InlineData("example.org", 2222, "example.org", "Unknown")]
    [InlineData("example.org", 2222, "[example.org]:2222", "Ok")]
    [InlineData("example.org", 22, "[example.org]:22", "Unknown")]
    [InlineData("EXAMPLE.org", 22, "example.ORG", "Ok")]
    [InlineData("a.example.org", 22, "other,*.example.org", "Ok")]
    [InlineData("a.example.org", 22, "*.example.org,!a.example.org", "Unknown")]
    [InlineData("10.0.0.7", 22, "10.0.0.?", "Ok")]
    [InlineData("10.0.0.17", 22, "10.0.0.?", "Unknown")]
    [InlineData("127.0.0.1", 2222, "[127.0.0.*]:2222", "Ok")]
    public void A_host_field_names_the_server_as_libssh_reads_it(string host, int port, string field, string expected)
    {
        Assert.Equal(expected, Check(host, port, s_key, Line(field, s_key)).ToString());
    }

    [Fact]
    public void A_hashed_host_field_names_the_server_it_was_made_for()
    {
        var salt = RandomNumberGenerator.GetBytes(20);
        var hash = HMACSHA1.HashData(salt, Encoding.UTF8.GetBytes("[127.0.0.1]:2222"));
        var field = $"|1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(hash)}";
        Assert.Equal(KnownHostState.Ok, Check("127.0.0.1", 2222, s_key, Line(field, s_key)));
        Assert.Equal(KnownHostState.Unknown, Check("127.0.0.1", 2223, s_key, Line(field, s_key)));
        Assert.Equal(KnownHostState.Unknown, Check("127.0.0.1", 2222, s_key, Line("|1|bad|", s_key)));
    }

    [Fact]
    public void Other_types_changed_keys_markers_and_comments_are_told_apart()
    {
        Assert.Equal(KnownHostState.OtherType, Check("h", 22, s_key, Line("h", s_rsaKey)));
        Assert.Equal(KnownHostState.Changed, Check("h", 22, s_key, Line("h", s_rsaKey), Line("h", s_otherKey)));
        Assert.Equal(KnownHostState.Ok, Check("h", 22, s_key, Line("h", s_otherKey), Line("h", s_key)));
        Assert.Equal(KnownHostState.Unknown, Check("h", 22, s_key, "@revoked " + Line("h", s_key), "# " + Line("h", s_key), "", "h"));
        Assert.Equal(KnownHostState.Unknown, KnownHosts.Check("h", 22, s_key, [Path.Combine(_dir, "missing")]));
    }

    [Fact]
    public void The_refusal_lines_are_qemus()
    {
        var file = Path.Combine(_dir, "known_hosts");
        var target = SshNode.FromUri("ssh://h:2222/x");
        File.WriteAllLines(file, [Line("[h]:2222", s_otherKey)]);
        var fingerprint = Convert.ToBase64String(SHA256.HashData(s_key)).TrimEnd('=');
        Assert.Equal($"host key (ssh-ed25519 key with fingerprint SHA256:{fingerprint}) does not match the one in known_hosts; this may be a possible attack",
            HostKeyCheck.Refusal(target, 2222, s_key, [file]));
        File.WriteAllLines(file, [Line("[h]:2222", s_rsaKey)]);
        Assert.Equal("host key for this server not found, another type exists", HostKeyCheck.Refusal(target, 2222, s_key, [file]));
        File.WriteAllLines(file, [Line("[h]:2222", s_key)]);
        Assert.Null(HostKeyCheck.Refusal(target, 2222, s_key, [file]));
        Assert.Null(HostKeyCheck.Refusal(SshNode.FromUri("ssh://h:2222/x?host_key_check=no"), 2222, s_otherKey, [file]));
        Assert.Equal($"remote host ssh-ed25519 key fingerprint 'md5:{Convert.ToHexStringLower(MD5.HashData(s_key))}' does not match host_key_check 'md5:0'",
            HostKeyCheck.Refusal(SshNode.FromUri("ssh://h:2222/x?host_key_check=md5:0"), 2222, s_key, [file]));
    }

    [Theory]
    [InlineData("0a1b", true)]
    [InlineData("0A:1B", true)]
    [InlineData("::0a::1b", true)]
    [InlineData("0a1b:", false)]
    [InlineData("0a1b00", false)]
    [InlineData("0a1", false)]
    [InlineData("0a1c", false)]
    [InlineData("0x1b", false)]
    [InlineData("", false)]
    public void A_hash_is_compared_as_qemu_compares_it(string given, bool matches)
    {
        Assert.Equal(matches, HostKeyCheck.MatchesHex([0x0a, 0x1b], given));
    }

    [Fact]
    public void Mutated_agent_replies_and_key_blobs_are_bounded_and_never_throw()
    {
        var reply = new List<byte> { 12, 0, 0, 0, 2 };
        foreach (var key in new[] { s_key, s_rsaKey })
        {
            var framed = new byte[4 + key.Length];
            BinaryPrimitives.WriteInt32BigEndian(framed, key.Length);
            key.CopyTo(framed, 4);
            reply.AddRange(framed);
            reply.AddRange(new byte[] { 0, 0, 0, 1, (byte)'c' });
        }

        var original = reply.ToArray();
        Assert.Equal([s_key, s_rsaKey], SshAgent.ParseIdentities(original));
        var random = new Random(1234);
        for (var i = 0; i < 5000; i++)
        {
            var mutant = (byte[])original.Clone();
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                mutant[random.Next(mutant.Length)] = (byte)random.Next(256);
            }

            mutant = mutant[..random.Next(mutant.Length + 1)];
            var keys = SshAgent.ParseIdentities(mutant);
            Assert.True(keys.Sum(k => k.Length) <= mutant.Length);
            foreach (var key in keys)
            {
                _ = new WireReader(key).Text();
                Assert.Equal(KnownHostState.Unknown, KnownHosts.Check("h", 22, key, []));
            }
        }
    }

    [Fact]
    public void Mutated_known_hosts_files_are_read_without_throwing()
    {
        var salt = new byte[20];
        var hashed = $"|1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(HMACSHA1.HashData(salt, "h"u8))}";
        var original = Encoding.UTF8.GetBytes(string.Join('\n', Line("h,*.x,!y.x", s_key), Line(hashed, s_rsaKey), Line("[h]:2222", s_otherKey), "@cert-authority * " + Line("", s_key)));
        var file = Path.Combine(_dir, "known_hosts");
        var random = new Random(4321);
        for (var i = 0; i < 500; i++)
        {
            var mutant = (byte[])original.Clone();
            for (var k = random.Next(1, 6); k > 0; k--)
            {
                const string Telling = "|,!*?[]: \n#@xh1";
                mutant[random.Next(mutant.Length)] = (byte)Telling[random.Next(Telling.Length)];
            }

            File.WriteAllBytes(file, mutant[..random.Next(mutant.Length + 1)]);
            var state = KnownHosts.Check("h", random.Next(2) == 0 ? 22 : 2222, s_key, [file]);
            Assert.True(Enum.IsDefined(state));
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
