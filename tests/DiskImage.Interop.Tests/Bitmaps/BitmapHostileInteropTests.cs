using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Bitmaps;

/// <summary>
/// Crafted bitmap directories: each must get qemu-img's verdict from info and check (exit code, output and
/// error line), and never a crash.
/// </summary>
public class BitmapHostileInteropTests
{
    public static TheoryData<string> Cases => new()
    {
        "table past end", "table unaligned", "granularity 40", "granularity 8", "overlapping tables", "table at header",
        "table over L1", "name of 1024 bytes", "65536 bitmaps", "count too high", "count too low", "autoclear bit clear",
        "autoclear bit without extension", "extra data", "directory size zero", "directory size huge", "directory past end",
        "table size zero", "table size too big", "table entry reserved bits", "table entry all ones", "table entry past end",
        "unknown type", "reserved flags", "duplicate names", "in use with bad table", "in use with wrong table size",
        "directory offset unaligned", "extension reserved field", "directory truncated", "extension length",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Crafted_bitmap_directories_get_qemu_img_s_verdict(string name)
    {
        using var dir = new TempDirectory();
        var image = QemuBitmapImage.Create(dir.File("vm.qcow2"));
        Craft(image, name);

        foreach (var args in new[] { new[] { "info", image.Path }, ["check", image.Path], ["check", "--output=json", image.Path] })
        {
            var theirs = ExternalTool.Run("qemu-img", args);
            var ours = Diskimg.Run(args);
            var what = $"{name}: diskimg {string.Join(' ', args)}";
            Assert.True(theirs.ExitCode == ours.ExitCode, $"{what} exited {ours.ExitCode}, qemu-img {theirs.ExitCode}: ours '{ours.StdErr}' theirs '{theirs.StdErr}'");
            Assert.Equal(theirs.StdOut, ours.StdOut);
            Assert.DoesNotContain("   at ", ours.StdErr, StringComparison.Ordinal);
            Assert.Equal(ErrorLines(theirs.StdErr, "qemu-img: "), ErrorLines(ours.StdErr, "diskimg: "));
        }
    }

    /// <summary>The error lines without the program's name; qemu-img's warning about bitmaps lost to an old writer is not printed here.</summary>
    private static string[] ErrorLines(string stderr, string program) => stderr
        .Replace("Some clusters may be leaked, run 'qemu-img check -r' on the image file to fix.", "", StringComparison.Ordinal)
        .Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Where(line => !line.Contains("warning: a program lacking bitmap support", StringComparison.Ordinal))
        .Select(line => line.StartsWith(program, StringComparison.Ordinal) ? line[program.Length..] : line)
        .ToArray();

    private static void Craft(QemuBitmapImage image, string name)
    {
        var extension = image.ExtensionOffset;
        var entry = image.DirectoryOffset;
        var second = image.SecondEntryOffset;
        var table = image.FirstTableOffset;
        switch (name)
        {
            case "table past end": image.WriteU64(entry, 1UL << 40); break;
            case "table unaligned": image.WriteU64(entry, (ulong)table + 512); break;
            case "granularity 40": image.WriteByte(entry + 17, 40); break;
            case "granularity 8": image.WriteByte(entry + 17, 8); break;
            case "overlapping tables": image.WriteU64(second, (ulong)table); break;
            case "table at header": image.WriteU64(entry, 0); break;
            case "table over L1": image.WriteU64(entry, image.ReadU64(40)); break;
            case "name of 1024 bytes":
                var bytes = new byte[24 + 1024];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, (ulong)table);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8), 1);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(12), 2);
                bytes[16] = 1;
                bytes[17] = 16;
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(18), 1024);
                bytes.AsSpan(24).Fill((byte)'n');
                image.Write(entry, bytes);
                image.WriteU32(extension, 1);
                image.WriteU64(extension + 8, (ulong)bytes.Length);
                break;
            case "65536 bitmaps": image.WriteU32(extension, 65536); break;
            case "count too high": image.WriteU32(extension, 3); break;
            case "count too low": image.WriteU32(extension, 1); break;
            case "autoclear bit clear": image.WriteU64(88, 0); break;
            case "autoclear bit without extension": image.WriteU32(extension - 8, 0x12345678); break;
            case "extra data": image.WriteU32(entry + 20, 8); break;
            case "directory size zero": image.WriteU64(extension + 8, 0); break;
            case "directory size huge": image.WriteU64(extension + 8, 65UL << 20); break;
            case "directory past end": image.WriteU64(extension + 16, 1UL << 40); break;
            case "directory offset unaligned": image.WriteU64(extension + 16, (ulong)entry + 8); break;
            case "extension reserved field": image.WriteU32(extension + 4, 1); break;
            case "extension length": image.WriteU32(extension - 4, 16); break;
            case "directory truncated": image.WriteU64(extension + 8, 40); break;
            case "table size zero": image.WriteU32(entry + 8, 0); break;
            case "table size too big": image.WriteU32(entry + 8, 2); break;
            case "table entry reserved bits": image.WriteU64(table, image.ReadU64(table) | 2); break;
            case "table entry all ones": image.WriteU64(table, 1); break;
            case "table entry past end": image.WriteU64(table, 1UL << 40); break;
            case "unknown type": image.WriteByte(entry + 16, 2); break;
            case "reserved flags": image.WriteU32(entry + 12, 6); break;
            case "duplicate names": image.Write(second + 24, "b1"u8); break;
            case "in use with bad table":
                image.WriteU32(entry + 12, 3);
                image.WriteU64(table, image.ReadU64(table) | 2);
                break;
            case "in use with wrong table size":
                image.WriteU32(entry + 12, 3);
                image.WriteU32(entry + 8, 5);
                break;
            default: throw new ArgumentException(name);
        }
    }
}
