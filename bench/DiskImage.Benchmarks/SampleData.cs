using System.Globalization;
using System.Text;

namespace DiskImage.Benchmarks;

/// <summary>
/// In-memory stand-ins for the corpus quarters that bench/make-corpus.py writes (random bytes, a random
/// 20 KiB block repeated, log-like text), deterministic so runs compare.
/// </summary>
public static class SampleData
{
    public const int ClusterSize = 64 * 1024;

    public static byte[] Create(string kind, int length) => kind switch
    {
        "random" => Random(length, 1),
        "repeated" => Repeated(length),
        "text" => LogText(length),
        "zero" => new byte[length],
        _ => throw new ArgumentException($"Unknown sample kind '{kind}'", nameof(kind)),
    };

    private static byte[] Random(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static byte[] Repeated(int length)
    {
        var block = Random(20 * 1024, 20);
        var data = new byte[length];
        for (var i = 0; i < length; i += block.Length)
        {
            block.AsSpan(0, Math.Min(block.Length, length - i)).CopyTo(data.AsSpan(i));
        }

        return data;
    }

    private static byte[] LogText(int length)
    {
        string[] hosts = ["node01", "node02", "node07", "node13", "node20"];
        string[] daemons = ["sshd", "kernel", "systemd", "cron", "nginx", "postgres"];
        string[] users = ["root", "alice", "bob", "deploy", "backup"];
        var random = new Random(7);
        var text = new StringBuilder(length + 256);
        var second = 1_700_000_000L;
        while (text.Length < length)
        {
            second += random.Next(0, 4);
            var time = DateTimeOffset.FromUnixTimeSeconds(second).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
            var line = random.Next(3) switch
            {
                0 => $"Accepted publickey for {users[random.Next(users.Length)]} from 10.{random.Next(256)}.{random.Next(256)}.{random.Next(256)} port {random.Next(1024, 65536)} ssh2",
                1 => $"GET /api/v1/items/{random.Next(1, 100000)} HTTP/1.1 200 {random.Next(100, 65536)} \"-\" \"curl/7.88.1\"",
                _ => $"Started Session {random.Next(1, 100000)} of user {users[random.Next(users.Length)]}.",
            };
            text.Append(CultureInfo.InvariantCulture, $"{time} {hosts[random.Next(hosts.Length)]} {daemons[random.Next(daemons.Length)]}[{random.Next(100, 65000)}]: {line}\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString(0, length));
    }
}
