using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>Creates AES instances from key spans without leaving key copies behind in managed memory.</summary>
internal static class AesKeys
{
    public static Aes Create(ReadOnlySpan<byte> key)
    {
        var copy = key.ToArray();
        try
        {
            var aes = Aes.Create();
            aes.Key = copy;
            return aes;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
        }
    }
}
