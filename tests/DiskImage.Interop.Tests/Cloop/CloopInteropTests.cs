using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Migration;
using DiskImage.Tests.Formats.Cloop;

namespace DiskImage.Interop.Tests.Cloop;

/// <summary>cloop images (made by create_compressed_fs and by our test writer) read by qemu-img and qemu-io and by us.</summary>
public class CloopInteropTests
{
    [Fact]
    public void Images_create_compressed_fs_makes_read_as_in_qemu()
    {
        using var dir = new TempDirectory();
        var raw = dir.File("source.raw");
        var image = dir.File("image.cloop");
        var content = CloopTestImage.Pattern(700_000, 75);
        File.WriteAllBytes(raw, content);
        ExternalTool.Run(ExternalTool.Require("create_compressed_fs"), "-q", "-B", "65536", raw, image).EnsureSuccess("create_compressed_fs");

        // The tool pads the last block with zeroes.
        var expected = new byte[11 * 65536];
        content.CopyTo(expected, 0);
        ReadOnlyFormatInterop.AssertReadsAsQemu(dir, image, "cloop", expected);
        ReadOnlyFormatInterop.AssertSame("io", "-r", "-f", "cloop", "-c", "read -P 0x01 4k 4k", "-c", "read -P 0x00 8k 4k", "-c", "read -v 12k 1k", "-c", "read -P 0 700000 8k", image);
        ReadOnlyFormatInterop.AssertSame("io", "-r", "-f", "cloop", "-c", "read -P 0x07 4k 4k", image);
        ReadOnlyFormatInterop.AssertWritesRefused(dir, image, "cloop");
    }

    [Fact]
    public void Images_of_our_test_writer_read_as_in_qemu()
    {
        using var dir = new TempDirectory();
        var image = dir.File("image.cloop");
        var content = CloopTestImage.Pattern(3 * 4096 * 5, 7);
        File.WriteAllBytes(image, CloopTestImage.Create(content, blockSize: 4608));
        var expected = new byte[14 * 4608];
        content.CopyTo(expected, 0);
        ReadOnlyFormatInterop.AssertReadsAsQemu(dir, image, "cloop", expected);
    }

    [Theory]
    [InlineData(CloopTestImage.BlockSizeOffset, 0x201u)]
    [InlineData(CloopTestImage.BlockSizeOffset, 0u)]
    [InlineData(CloopTestImage.BlockSizeOffset, 0xfffffe00u)]
    [InlineData(CloopTestImage.BlockSizeOffset, 0x04000200u)]
    [InlineData(CloopTestImage.BlockCountOffset, 0xffffffffu)]
    [InlineData(CloopTestImage.BlockCountOffset, 0x1fffffffu)] // QEMU's 32-bit table size wraps to nothing
    [InlineData(CloopTestImage.BlockCountOffset, 0x04000001u)]
    [InlineData(CloopTestImage.BlockCountOffset, 0x03ffffffu)] // the table runs past the file: zeroes, not monotonic
    [InlineData(CloopTestImage.OffsetsOffset + 4, 0xffffffffu)]
    [InlineData(CloopTestImage.OffsetsOffset + 8, 0x100u)] // a block of 2^40 bytes
    [InlineData(CloopTestImage.OffsetsOffset + 12, 0x08000200u)] // just over QEMU's 128 MiB
    public void Hostile_headers_fail_as_in_qemu(int offset, uint value)
    {
        using var dir = new TempDirectory();
        var image = dir.File("hostile.cloop");
        File.WriteAllBytes(image, CloopTestImage.Create(CloopTestImage.Pattern(64 * 1024, 3), blockSize: 8192));
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        MigrationInterop.Patch(image, offset, bytes);
        MigrationInterop.AssertSameOpenFailure(image);
        ReadOnlyFormatInterop.AssertSame("io", "-r", "-f", "cloop", "-c", "read 0 512", image);
    }

    /// <summary>
    /// The last block's range stops <paramref name="cut"/> bytes short of its zlib stream's end (inside or before the
    /// Adler-32 trailer), or runs <c>-cut</c> bytes past it into the zeroes after the file: QEMU needs the stream to end
    /// inside the block's range and ignores what follows.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(-9)]
    public void Zlib_streams_must_end_inside_their_block_as_in_qemu(int cut)
    {
        using var dir = new TempDirectory();
        var image = dir.File("cut.cloop");
        var bytes = CloopTestImage.Create(CloopTestImage.Pattern(64 * 1024, 4), blockSize: 8192);
        var lastOffset = bytes.AsSpan(CloopTestImage.OffsetsOffset + (8 * 8));
        BinaryPrimitives.WriteUInt64BigEndian(lastOffset, (ulong)((long)BinaryPrimitives.ReadUInt64BigEndian(lastOffset) - cut));
        File.WriteAllBytes(image, bytes);
        ReadOnlyFormatInterop.AssertSame("io", "-r", "-f", "cloop", "-c", "read 0 512", "-c", "read 60k 4k", image);
        ReadOnlyFormatInterop.AssertSame("convert", "-O", "raw", image, dir.File("out.raw"));
    }

    [Theory]
    [InlineData(CloopTestImage.OffsetsOffset + (8 * 8) + 4, 0x08000000u)] // a last block of nearly 128 MiB, mostly past the end of the file
    [InlineData(CloopTestImage.OffsetsOffset + (8 * 8) + 4, 0u)] // the last offset 0: the table stops increasing there
    [InlineData(-1, 0u)] // a damaged byte in the first block's zlib stream
    [InlineData(CloopTestImage.BlockSizeOffset, 0x4000u)] // blocks inflate to less than the block size
    [InlineData(CloopTestImage.BlockSizeOffset, 0x1000u)] // blocks inflate to more than the block size
    public void Damaged_blocks_fail_reads_as_in_qemu(int offset, uint value)
    {
        using var dir = new TempDirectory();
        var image = dir.File("damaged.cloop");
        var bytes = CloopTestImage.Create(CloopTestImage.Pattern(64 * 1024, 3), blockSize: 8192);
        if (offset < 0)
        {
            bytes[CloopTestImage.OffsetsOffset + (9 * 8) + 20] ^= 0x5a;
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(offset), value);
        }

        File.WriteAllBytes(image, bytes);
        ReadOnlyFormatInterop.AssertSame("info", image);
        ReadOnlyFormatInterop.AssertSame("io", "-r", "-f", "cloop", "-c", "read 0 512", "-c", "read 60k 4k", image);
        ReadOnlyFormatInterop.AssertSame("convert", "-O", "raw", image, dir.File("out.raw"));
    }

    [Theory]
    [InlineData("#!/bin/sh\n")]
    [InlineData("#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n")]
    [InlineData("#!/bin/bash\n")]
    public void Short_files_probe_as_in_qemu(string text)
    {
        using var dir = new TempDirectory();
        var file = dir.File("short");
        File.WriteAllBytes(file, System.Text.Encoding.ASCII.GetBytes(text));
        ReadOnlyFormatInterop.AssertSame("info", file);
        ReadOnlyFormatInterop.AssertSame("info", "--output=json", file);
    }
}
