namespace DiskImage.Options;

/// <summary>
/// Which leftover key QEMU's option visitor names in "Parameter 'KEY' is unexpected": it copies the option
/// dictionary (walked in QEMU's own bucket order) into a GLib string hash table, removes the keys the schema reads,
/// and names the first key left in the table's slot order. This replays that table: djb2 hashes, prime-modulo
/// slots with quadratic probing, tombstones, and GLib's in-place resize.
/// </summary>
internal sealed class GlibKeyOrder
{
    private static readonly int[] PrimeModulus = [1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381];
    private const uint Unused = 0;
    private const uint Tombstone = 1;

    private uint[] _hashes = [];
    private string?[] _keys = [];
    private int _size;
    private int _modulus;
    private int _mask;
    private int _nodes;
    private int _occupied;

    private GlibKeyOrder() => SetShift(3, []);

    /// <summary>The key of <paramref name="left"/> named first, or null when none is left.</summary>
    /// <param name="keys">Every key of the option list, in the order given.</param>
    /// <param name="left">The keys the schema did not read.</param>
    public static string? FirstLeft(IReadOnlyList<string> keys, IReadOnlyCollection<string> left)
    {
        if (left.Count == 0)
        {
            return null;
        }

        var consumed = keys.Where(k => !left.Contains(k)).ToList();
        var table = new GlibKeyOrder();
        var inDictionaryOrder = keys.Distinct(StringComparer.Ordinal).Select((key, index) => (key, index))
            .OrderBy(k => QemuJson.Bucket(k.key)).ThenByDescending(k => k.index).Select(k => k.key).ToList();
        if (inDictionaryOrder.Count > 4096)
        {
            // Far past any real option list; the plain order is a fair answer without a huge table.
            return inDictionaryOrder.FirstOrDefault(left.Contains);
        }

        inDictionaryOrder.ForEach(table.Insert);
        foreach (var key in consumed)
        {
            table.Remove(key);
        }

        for (var i = 0; i < table._size; i++)
        {
            if (table._hashes[i] > Tombstone)
            {
                return table._keys[i];
            }
        }

        return null;
    }

    private static uint Hash(string key)
    {
        var hash = 5381u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(key))
        {
            // GLib hashes signed chars.
            hash = unchecked((hash * 33) + (uint)(sbyte)b);
        }

        return hash > Tombstone ? hash : 2;
    }

    private int Slot(uint hash) => (int)(unchecked(hash * 11u) % (uint)_modulus);

    private int Lookup(string key, uint hash)
    {
        var index = Slot(hash);
        var step = 0;
        var tombstone = -1;
        while (_hashes[index] != Unused)
        {
            if (_hashes[index] == hash && _keys[index] == key)
            {
                return index;
            }

            if (_hashes[index] == Tombstone && tombstone < 0)
            {
                tombstone = index;
            }

            step++;
            index = (index + step) & _mask;
        }

        return tombstone >= 0 ? tombstone : index;
    }

    private void Insert(string key)
    {
        var hash = Hash(key);
        var index = Lookup(key, hash);
        var previous = _hashes[index];
        if (previous > Tombstone)
        {
            return;
        }

        _hashes[index] = hash;
        _keys[index] = key;
        _nodes++;
        if (previous == Unused)
        {
            _occupied++;
            MaybeResize();
        }
    }

    private void Remove(string key)
    {
        var index = Lookup(key, Hash(key));
        if (_hashes[index] <= Tombstone)
        {
            return;
        }

        _hashes[index] = Tombstone;
        _keys[index] = null;
        _nodes--;
        MaybeResize();
    }

    private void MaybeResize()
    {
        if ((_size > _nodes * 4 && _size > 8) || _size <= _occupied + (_occupied / 16))
        {
            var wanted = (int)(_nodes * 1.333);
            var shift = 0;
            for (; wanted != 0; wanted >>= 1)
            {
                shift++;
            }

            SetShift(Math.Max(shift, 3), [.. _hashes.Zip(_keys)]);
        }
    }

    /// <summary>Sets the table's size and re-places the old slots as GLib's in-place resize does.</summary>
    private void SetShift(int shift, (uint Hash, string? Key)[] old)
    {
        _size = 1 << shift;
        _modulus = PrimeModulus[shift];
        _mask = _size - 1;
        var length = Math.Max(_size, old.Length);
        var hashes = new uint[length];
        var keys = new string?[length];
        for (var i = 0; i < old.Length; i++)
        {
            (hashes[i], keys[i]) = old[i];
        }

        var placed = new bool[length];
        for (var i = 0; i < old.Length; i++)
        {
            var hash = hashes[i];
            if (hash <= Tombstone)
            {
                hashes[i] = Unused;
                continue;
            }

            if (placed[i])
            {
                continue;
            }

            var key = keys[i];
            hashes[i] = Unused;
            keys[i] = null;
            while (true)
            {
                var index = Slot(hash);
                var step = 0;
                while (placed[index])
                {
                    step++;
                    index = (index + step) & _mask;
                }

                placed[index] = true;
                var (displacedHash, displacedKey) = (hashes[index], keys[index]);
                (hashes[index], keys[index]) = (hash, key);
                if (displacedHash <= Tombstone)
                {
                    break;
                }

                (hash, key) = (displacedHash, displacedKey);
            }
        }

        _hashes = hashes[.._size];
        _keys = keys[.._size];
        _occupied = _nodes;
    }
}
