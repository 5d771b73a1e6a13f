using System.Buffers.Binary;

namespace DiskImage.Interop.Tests.Reliability;

/// <summary>
/// The mutator of the format fuzzers whose seeds are small qemu-made files: one to three changes inside chosen regions
/// (a flipped bit, a random byte, or an interesting little-endian word: 0, all ones, the sign bit, size boundaries,
/// aligned as the format's fields are), and, for one mutant in eight, a file cut short or extended. The length changes
/// come from a random stream of their own, so the byte changes a seed makes do not move when they are added.
/// </summary>
internal sealed class ByteMutator
{
    private readonly Random _random;
    private readonly Random _lengths;
    private readonly int _wordSize;
    private readonly ulong[] _interesting;

    /// <param name="seed">The mutants' seed (<see cref="Seed"/> lets a run choose another).</param>
    /// <param name="wordSize">4 or 8: the width of the format's fields, where interesting values are written.</param>
    /// <param name="interesting">The values written into fields.</param>
    public ByteMutator(int seed, int wordSize, ulong[] interesting)
    {
        _random = new Random(seed);
        _lengths = new Random(seed ^ 0x5eed1e);
        _wordSize = wordSize;
        _interesting = interesting;
    }

    /// <summary>The seed of a run: <c>DISKIMG_FUZZ_SEED</c> when set, else <paramref name="fixedSeed"/>.</summary>
    public static int Seed(int fixedSeed) =>
        int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_SEED"), out var chosen) ? chosen : fixedSeed;

    /// <summary>How many mutants a run makes: <c>DISKIMG_FUZZ_ITERATIONS</c> when set, else <paramref name="count"/>.</summary>
    public static int Iterations(int count) =>
        int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n : count;

    /// <summary>
    /// A mutant of <paramref name="original"/>, changed inside <paramref name="regions"/> (each at least a word long;
    /// with one region none is drawn), and what was done to it.
    /// </summary>
    public (byte[] Bytes, string What) Mutate(byte[] original, IReadOnlyList<(int Start, int Length)> regions)
    {
        var bytes = (byte[])original.Clone();
        var changes = new List<string>();
        for (var k = _random.Next(1, 4); k > 0; k--)
        {
            var (start, length) = regions.Count == 1 ? regions[0] : regions[_random.Next(regions.Count)];
            var at = start + _random.Next(length - _wordSize);
            switch (_random.Next(3))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << _random.Next(8));
                    changes.Add($"bit flip at {at}");
                    break;
                case 1:
                    bytes[at] = (byte)_random.Next(256);
                    changes.Add($"byte at {at}");
                    break;
                default:
                    var value = _interesting[_random.Next(_interesting.Length)];
                    var field = at & ~(_wordSize - 1);
                    if (_wordSize == 8)
                    {
                        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(field), value);
                    }
                    else
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(field), unchecked((uint)value));
                    }

                    changes.Add($"0x{value:x} at {field}");
                    break;
            }
        }

        if (_lengths.Next(8) == 0)
        {
            bytes = ChangeLength(bytes, changes);
        }

        return (bytes, string.Join(", ", changes));
    }

    /// <summary>Cuts the file anywhere (a header cut short included), or extends it by up to 64 KiB of zeroes or ones.</summary>
    private byte[] ChangeLength(byte[] bytes, List<string> changes)
    {
        if (_lengths.Next(2) == 0)
        {
            var length = _lengths.Next(bytes.Length);
            changes.Add($"cut to {length} bytes");
            return bytes[..length];
        }

        var extra = 1 + _lengths.Next(64 << 10);
        var fill = _lengths.Next(2) == 0 ? (byte)0 : (byte)0xff;
        var longer = new byte[bytes.Length + extra];
        bytes.CopyTo(longer, 0);
        longer.AsSpan(bytes.Length).Fill(fill);
        changes.Add($"extended by {extra} bytes of 0x{fill:x2}");
        return longer;
    }
}
