namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// qemu-io's device write permission over reads, writes and reopens: taken by a read-write open or by the first
/// writing command on a writable image, dropped by a reopen that leaves the image read-only, and in the way of a
/// later <c>reopen -o read-only=on</c>. Random command sequences from fixed seeds, each compared with qemu-io.
/// </summary>
public partial class QemuIoHuntInteropTests
{
    private static readonly string[] PermissionCommands =
    [
        "read 0 512", "write -P 5 0 512", "write 0 bad", "write -z 0 512", "discard 0 64k", "truncate 4M",
        "reopen", "reopen -r", "reopen -w", "reopen -o read-only=on", "reopen -o read-only=off", "reopen -r -c none",
    ];

    [Fact]
    public void Write_permission_follows_qemu_ios_device_over_random_reopens()
    {
        AssertSameAsQemuIo("qcow2", ["-r", "-c", "reopen -w", "-c", "write 0 1", "-c", "reopen -o read-only=on", "-c", "write 0 1", "IMG"]);
        for (var seed = 0; seed < 8; seed++)
        {
            var random = new Random(seed);
            var arguments = new List<string>();
            if (random.Next(2) == 0)
            {
                arguments.Add("-r");
            }

            for (var count = random.Next(4, 10); count > 0; count--)
            {
                arguments.AddRange(["-c", PermissionCommands[random.Next(PermissionCommands.Length)]]);
            }

            AssertSameAsQemuIo("qcow2", [.. arguments, "IMG"]);
        }
    }
}
