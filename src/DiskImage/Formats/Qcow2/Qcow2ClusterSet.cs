namespace DiskImage.Formats.Qcow2;

/// <summary>
/// A set of host cluster indexes below a limit, collected in any order and read back sorted. Duplicates are
/// squeezed out whenever the list doubles, so memory follows the number of distinct clusters even when a
/// crafted image points many table entries at the same cluster.
/// </summary>
internal sealed class Qcow2ClusterSet(int clusterBits, long clusterLimit)
{
    private const int MinimumSqueeze = 1 << 16;
    private readonly List<long> _clusters = [];
    private int _squeezeAt = MinimumSqueeze;

    /// <summary>Adds every cluster the byte range touches; ranges outside the file are clipped, negative ones ignored.</summary>
    public void AddRange(long offset, long length)
    {
        if (offset < 0 || length <= 0 || offset > long.MaxValue - length)
        {
            return;
        }

        var first = offset >> clusterBits;
        var last = Math.Min((offset + length - 1) >> clusterBits, clusterLimit - 1);
        for (var cluster = first; cluster <= last; cluster++)
        {
            _clusters.Add(cluster);
            if (_clusters.Count >= _squeezeAt)
            {
                Squeeze();
                _squeezeAt = Math.Max(MinimumSqueeze, _clusters.Count * 2);
            }
        }
    }

    /// <summary>The distinct clusters in ascending order.</summary>
    public List<long> Sorted()
    {
        Squeeze();
        return _clusters;
    }

    private void Squeeze()
    {
        _clusters.Sort();
        var kept = 0;
        for (var i = 0; i < _clusters.Count; i++)
        {
            if (kept == 0 || _clusters[i] != _clusters[kept - 1])
            {
                _clusters[kept++] = _clusters[i];
            }
        }

        _clusters.RemoveRange(kept, _clusters.Count - kept);
    }
}
