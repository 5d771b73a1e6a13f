using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>AES on the BCL: one call per run of blocks, so the hardware instructions see long buffers.</summary>
internal sealed class AesBlockCipher(ReadOnlySpan<byte> key) : BlockCipher
{
    private readonly Aes _aes = AesKeys.Create(key);

    public override int BlockSize => 16;

    public override void EncryptEcb(Span<byte> data) => _aes.EncryptEcb(data, data, PaddingMode.None);

    public override void DecryptEcb(Span<byte> data) => _aes.DecryptEcb(data, data, PaddingMode.None);

    public override void EncryptCbc(Span<byte> data, ReadOnlySpan<byte> iv) => _aes.EncryptCbc(data, iv, data, PaddingMode.None);

    public override void DecryptCbc(Span<byte> data, ReadOnlySpan<byte> iv) => _aes.DecryptCbc(data, iv, data, PaddingMode.None);

    public override void Dispose() => _aes.Dispose();
}
