namespace DiskImage.Operations.Measure;

/// <summary>
/// Space a LUKS1 header with QEMU's layout takes in front of the payload: the 4 KiB header area, then
/// eight key slots each holding the master key split into 4000 stripes, every slot 4 KiB-aligned.
/// </summary>
internal static class LuksHeaderSize
{
    private const int SectorSize = 512;
    private const int HeaderSectors = 4096 / SectorSize;
    private const int SlotAlignmentSectors = 4096 / SectorSize;
    private const int Stripes = 4000;
    private const int KeySlots = 8;

    /// <summary>Payload offset in bytes for the given <c>encrypt.cipher-alg</c> and <c>encrypt.cipher-mode</c>.</summary>
    public static long PayloadOffset(string? cipherAlgorithm, string? cipherMode)
    {
        var keyBytes = KeyBytes(cipherAlgorithm ?? "aes-256");
        if ((cipherMode ?? "xts") == "xts")
        {
            keyBytes *= 2;
        }
        else if (cipherMode is not ("cbc" or "ecb" or "ctr"))
        {
            throw new InvalidOptionException($"Invalid parameter '{cipherMode}'");
        }

        var slotSectors = Qcow2Layout.RoundUp(Qcow2Layout.DivideRoundingUp((long)keyBytes * Stripes, SectorSize), SlotAlignmentSectors);
        return (HeaderSectors + (KeySlots * slotSectors)) * SectorSize;
    }

    private static int KeyBytes(string algorithm) => algorithm switch
    {
        "aes-128" or "twofish-128" or "serpent-128" or "cast5-128" or "sm4" => 16,
        "aes-192" or "twofish-192" or "serpent-192" => 24,
        "aes-256" or "twofish-256" or "serpent-256" => 32,
        _ => throw new InvalidOptionException($"Invalid parameter '{algorithm}'"),
    };
}
