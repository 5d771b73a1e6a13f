using System.Diagnostics;
using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>
/// Picks PBKDF2 iteration counts that take a wanted time on this machine, as QEMU's <c>iter-time</c>
/// does: measure a run, scale to the wanted milliseconds, never go below QEMU's floor of 1000.
/// </summary>
internal static class Pbkdf2Calibration
{
    /// <summary>QEMU's minimum for both key slot and master key digest iterations.</summary>
    public const int MinimumIterations = 1000;

    /// <summary>QEMU's default <c>iter-time</c> in milliseconds.</summary>
    public const int DefaultIterTimeMs = 2000;

    /// <summary>Shortest measurement worth extrapolating from.</summary>
    private const double MinimumSampleMs = 20;

    /// <summary>Iterations of PBKDF2 with <paramref name="hash"/> for <paramref name="keyBytes"/> of output that take about <paramref name="iterTimeMs"/>.</summary>
    public static int IterationsFor(HashAlgorithmName hash, int keyBytes, long iterTimeMs)
    {
        var perMs = IterationsPerMillisecond(hash, keyBytes);
        return Scale(perMs, iterTimeMs);
    }

    /// <summary>Scales a measured rate to a wanted time, floored at <see cref="MinimumIterations"/>.</summary>
    internal static int Scale(double iterationsPerMs, long iterTimeMs)
    {
        if (iterTimeMs <= 0)
        {
            throw new InvalidOptionException("encrypt.iter-time must be greater than 0");
        }

        var wanted = iterationsPerMs * iterTimeMs;
        if (wanted > int.MaxValue)
        {
            throw new InvalidOptionException($"PBKDF iterations {wanted:F0} larger than {int.MaxValue}");
        }

        return Math.Max(MinimumIterations, (int)wanted);
    }

    private static double IterationsPerMillisecond(HashAlgorithmName hash, int keyBytes)
    {
        Span<byte> password = stackalloc byte[32];
        Span<byte> salt = stackalloc byte[32];
        Span<byte> output = stackalloc byte[keyBytes];
        RandomNumberGenerator.Fill(password);
        RandomNumberGenerator.Fill(salt);
        var iterations = 1 << 10;
        while (true)
        {
            var watch = Stopwatch.StartNew();
            LuksHash.Pbkdf2(password, salt, output, iterations, hash);
            var elapsed = watch.Elapsed.TotalMilliseconds;
            if (elapsed >= MinimumSampleMs || iterations >= 1 << 26)
            {
                CryptographicOperations.ZeroMemory(output);
                return iterations / Math.Max(elapsed, 0.001);
            }

            iterations *= 2;
        }
    }
}
