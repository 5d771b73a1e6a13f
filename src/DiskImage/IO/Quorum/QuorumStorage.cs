namespace DiskImage.IO.Quorum;

/// <summary>
/// QEMU's <c>quorum</c> driver as a read-only storage node over its children: every read goes to all of them and the
/// data that most of them return wins, if at least the vote threshold returned it; otherwise the read fails with EIO.
/// Too few successful reads fail with the errno most of the failed ones gave. Children must all have the same length.
/// Writes are refused: the node is opened only for reading here.
/// </summary>
internal sealed class QuorumStorage : ReadOnlyStorage
{
    private const int ErrnoIo = 5;
    private const int ErrnoReadOnly = 30;

    private readonly IReadOnlyList<IStorage> _children;
    private readonly int _threshold;

    /// <summary>A node over <paramref name="children"/> (at least one, at most as many as the threshold allows).</summary>
    public QuorumStorage(IReadOnlyList<IStorage> children, int threshold, string path)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(children.Count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threshold, children.Count);
        _children = children;
        _threshold = threshold;
        Path = path;
    }

    /// <summary>The node's JSON description: QEMU can name a quorum node by no single file.</summary>
    public override string Path { get; }

    /// <summary>The children's common length; EIO when they differ, as QEMU reports it.</summary>
    public override long Length
    {
        get
        {
            var length = _children[0].Length;
            return _children.Skip(1).All(c => c.Length == length) ? length : throw new IOException("Input/output error", ErrnoIo);
        }
    }

    /// <summary>What the children occupy together, as QEMU sums a node's children; null if any cannot tell.</summary>
    public override long? AllocatedSize => _children.Aggregate((long?)0, (sum, child) => sum + child.AllocatedSize);

    public override void Read(long offset, Span<byte> buffer)
    {
        var available = ReadAvailable(offset, buffer);
        buffer[available..].Clear();
    }

    public override int ReadAvailable(long offset, Span<byte> buffer)
    {
        var count = (int)Math.Clamp(Length - offset, 0, buffer.Length);
        if (count == 0)
        {
            return 0;
        }

        // Each child's answer, or its errno; identical answers are one version, counted by votes.
        var answers = new byte[]?[_children.Count];
        var errors = new List<int>();
        for (var i = 0; i < _children.Count; i++)
        {
            try
            {
                var data = new byte[count];
                _children[i].Read(offset, data);
                answers[i] = data;
            }
            catch (IOException e)
            {
                errors.Add(e.HResult > 0 ? e.HResult : ErrnoIo);
            }
        }

        if (_children.Count - errors.Count < _threshold)
        {
            // The most frequent errno wins, the later one of equals as QEMU's vote list is ordered.
            var errno = errors.GroupBy(e => e).OrderByDescending(g => g.Count()).ThenByDescending(g => errors.LastIndexOf(g.Key)).First().Key;
            throw new IOException(ErrnoText.Strerror(errno), errno);
        }

        var versions = new List<(byte[] Data, int Votes, int FirstSeen)>();
        for (var i = 0; i < answers.Length; i++)
        {
            if (answers[i] is not { } data)
            {
                continue;
            }

            var index = versions.FindIndex(v => v.Data.AsSpan().SequenceEqual(data));
            if (index < 0)
            {
                versions.Add((data, 1, i));
            }
            else
            {
                versions[index] = (versions[index].Data, versions[index].Votes + 1, versions[index].FirstSeen);
            }
        }

        // Of versions with the most votes, the one first seen last wins (QEMU inserts new versions at the list's head).
        var winner = versions.OrderByDescending(v => v.Votes).ThenByDescending(v => v.FirstSeen).First();
        if (winner.Votes < _threshold)
        {
            throw new IOException("Input/output error", ErrnoIo);
        }

        winner.Data.CopyTo(buffer);
        return count;
    }

    public override void Dispose()
    {
        foreach (var child in _children)
        {
            child.Dispose();
        }
    }

    /// <summary>The node is opened only for reading: a change fails as on a read-only file system.</summary>
    protected override Exception Refusal() => new IOException("Read-only file system", ErrnoReadOnly);
}
