namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>
/// The pattern writes a kill test makes, in order, as qemu-io commands, and what a crash among them may leave: every
/// 512-byte sector as it was after some prefix of the writes (none of them, up to all), never anything else.
/// </summary>
public sealed class PatternWrites((byte Pattern, long Offset, long Length)[] writes)
{
    /// <summary>The writes as <c>-c "write -P ..."</c> arguments of <c>diskimg io</c>.</summary>
    public string[] IoCommands { get; } = [.. writes.SelectMany(w => new[] { "-c", $"write -P 0x{w.Pattern:x2} {w.Offset} {w.Length}" })];

    /// <summary>The guest content after the first <paramref name="prefix"/> writes over <paramref name="before"/>.</summary>
    public byte[] After(byte[] before, int prefix)
    {
        var state = (byte[])before.Clone();
        foreach (var (pattern, offset, length) in writes.AsSpan(0, prefix))
        {
            state.AsSpan((int)offset, (int)length).Fill(pattern);
        }

        return state;
    }

    /// <summary>The guest content after every write.</summary>
    public byte[] AfterAll(byte[] before) => After(before, writes.Length);

    /// <summary>Each sector of <paramref name="now"/> must be what it was after some prefix of the writes.</summary>
    public void AssertEachSectorIsFromSomePrefix(byte[] before, byte[] now, string what)
    {
        Assert.Equal(before.Length, now.Length);
        var states = Enumerable.Range(0, writes.Length + 1).Select(prefix => After(before, prefix)).ToArray();
        for (var sector = 0; sector < now.Length; sector += 512)
        {
            var start = sector;
            Assert.True(states.Any(state => state.AsSpan(start, 512).SequenceEqual(now.AsSpan(start, 512))),
                $"{what}: sector {sector / 512} matches no state the writes pass through (first byte 0x{now[sector]:x2}, last 0x{now[sector + 511]:x2})");
        }
    }

    /// <summary>The guest content of <paramref name="image"/> as qemu-img reads it.</summary>
    public static byte[] ReadWithQemu(string image, string format)
    {
        var raw = image + ".raw";
        ExternalTool.QemuImg("convert", "-f", format, "-O", "raw", image, raw);
        var bytes = File.ReadAllBytes(raw);
        File.Delete(raw);
        return bytes;
    }
}
