using DiskImage.Tests.Formats.Cloop;

namespace DiskImage.Interop.Tests.Cloop;

/// <summary>The mutation fuzzer on cloop images: the block size and count, the offsets table, the first zlib streams.</summary>
public class CloopFuzzTests
{
    [Fact]
    public void Mutated_images_fail_cleanly()
    {
        var image = CloopTestImage.Create(CloopTestImage.Pattern(64 * 1024, 11), 8192);
        ReadOnlyFormatFuzz.Run(image, "cloop", [(128, 12), (136, 72), (208, 400)], bigEndian: true, seed: 20261202);
    }
}
