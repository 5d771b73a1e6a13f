using DiskImage.IO;
using DiskImage.IO.Blkdebug;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// A bounded write-back cache of cluster-sized metadata tables (L2 tables or refcount blocks), keyed by
/// host offset, evicting the least recently used. Not thread-safe: the image's metadata lock guards it.
/// Dirty tables are written back by the owner's flush logic, which knows the required ordering.
/// </summary>
internal sealed class Qcow2TableCache
{
    private readonly IStorage _file;
    private readonly int _tableSize;
    private readonly int _capacity;
    private readonly Dictionary<long, LinkedListNode<Entry>> _entries = [];
    private readonly LinkedList<Entry> _lru = new();
    private readonly Stack<byte[]> _spare = new();

    private readonly BlkdebugEvent? _loadEvent;
    private readonly BlkdebugEvent _writeEvent;

    /// <summary>A cache whose misses raise <paramref name="loadEvent"/> and whose write-backs raise <paramref name="writeEvent"/> on a blkdebug file, as QEMU's table caches do.</summary>
    public Qcow2TableCache(IStorage file, int tableSize, long budgetBytes, int minimumEntries, BlkdebugEvent? loadEvent, BlkdebugEvent writeEvent)
    {
        _file = file;
        _tableSize = tableSize;
        _capacity = (int)Math.Max(minimumEntries, budgetBytes / tableSize);
        _loadEvent = loadEvent;
        _writeEvent = writeEvent;
    }

    /// <summary>Called before a dirty table is evicted, so the owner can flush what it depends on first.</summary>
    public Action? BeforeDirtyWrite { get; set; }

    public bool HasDirty => _lru.Any(e => e.Dirty);

    /// <summary>Returns the table at <paramref name="offset"/>, reading it when it is not cached.</summary>
    public byte[] Get(long offset)
    {
        if (_entries.TryGetValue(offset, out var node))
        {
            Touch(node);
            return node.Value.Data;
        }

        var data = NewBuffer();
        if (_loadEvent is { } loadEvent)
        {
            BlkdebugStorage.Raise(_file, loadEvent);
        }
        _file.Read(offset, data);
        Insert(offset, data, dirty: false);
        return data;
    }

    /// <summary>Adds a fresh all-zero table at <paramref name="offset"/> (a newly allocated cluster), marked dirty.</summary>
    public byte[] CreateZeroed(long offset)
    {
        if (_entries.TryGetValue(offset, out var node))
        {
            Array.Clear(node.Value.Data);
            node.Value.Dirty = true;
            Touch(node);
            return node.Value.Data;
        }

        var data = NewBuffer();
        Array.Clear(data);
        Insert(offset, data, dirty: true);
        return data;
    }

    public void MarkDirty(long offset)
    {
        if (_entries.TryGetValue(offset, out var node))
        {
            node.Value.Dirty = true;
        }
    }

    /// <summary>Drops a table without writing it (its cluster was freed).</summary>
    public void Remove(long offset)
    {
        if (_entries.Remove(offset, out var node))
        {
            _lru.Remove(node);
            _spare.Push(node.Value.Data);
        }
    }

    /// <summary>Writes every dirty table (no sync).</summary>
    public void WriteDirty()
    {
        foreach (var entry in _lru)
        {
            if (entry.Dirty)
            {
                BlkdebugStorage.Raise(_file, _writeEvent);
                _file.Write(entry.Offset, entry.Data);
                entry.Dirty = false;
            }
        }
    }

    /// <summary>Forgets everything (after the tables were rewritten behind the cache's back).</summary>
    public void Clear()
    {
        foreach (var entry in _lru)
        {
            _spare.Push(entry.Data);
        }

        _entries.Clear();
        _lru.Clear();
    }

    private byte[] NewBuffer() => _spare.Count > 0 ? _spare.Pop() : new byte[_tableSize];

    private void Touch(LinkedListNode<Entry> node)
    {
        if (node != _lru.First)
        {
            _lru.Remove(node);
            _lru.AddFirst(node);
        }
    }

    private void Insert(long offset, byte[] data, bool dirty)
    {
        while (_entries.Count >= _capacity)
        {
            var victim = _lru.Last!;
            if (victim.Value.Dirty)
            {
                BeforeDirtyWrite?.Invoke();
                if (victim.Value.Dirty)
                {
                    BlkdebugStorage.Raise(_file, _writeEvent);
                    _file.Write(victim.Value.Offset, victim.Value.Data);
                    victim.Value.Dirty = false;
                }
            }

            _lru.RemoveLast();
            _entries.Remove(victim.Value.Offset);
            _spare.Push(victim.Value.Data);
        }

        var node = _lru.AddFirst(new Entry(offset, data) { Dirty = dirty });
        _entries[offset] = node;
    }

    private sealed class Entry(long offset, byte[] data)
    {
        public long Offset { get; } = offset;
        public byte[] Data { get; } = data;
        public bool Dirty { get; set; }
    }
}
