using DiskImage.Interop.Tests.Cloop;
using DiskImage.Tests.Formats.Bochs;
using DiskImage.Tests.Formats.Cloop;

namespace DiskImage.Interop.Tests.Bochs;

/// <summary>The mutation fuzzer on Bochs images: the header's numbers, the catalog, the first extent's bitmap.</summary>
public class BochsFuzzTests
{
    [Fact]
    public void Mutated_images_fail_cleanly()
    {
        var image = BochsTestImage.Create(CloopTestImage.Pattern(64 * 1024, 13), extentSize: 4096);
        ReadOnlyFormatFuzz.Run(image, "bochs", [(64, 32), (512, 64), (576, 16)], bigEndian: false, seed: 20261202);
    }
}
