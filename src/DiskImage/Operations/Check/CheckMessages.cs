using System.Collections;

namespace DiskImage.Operations.Check;

/// <summary>
/// The diagnostic lines of a check pass, in the order they were found. A crafted image can produce
/// millions (one per bogus L1 or L2 entry), so only the first <see cref="Capacity"/> are kept and the
/// rest are counted: memory stays bounded whatever the image says.
/// </summary>
public sealed class CheckMessages : IReadOnlyCollection<string>
{
    /// <summary>How many lines are kept.</summary>
    public const int Capacity = 10_000;

    private readonly List<string> _kept = [];

    /// <summary>Lines found but not kept.</summary>
    public long Omitted { get; private set; }

    /// <summary>Messages kept (at most the bound; see <see cref="Omitted"/>).</summary>
    public int Count => _kept.Count;

    /// <summary>Keeps a message, or counts it as omitted once the bound is reached.</summary>
    /// <param name="message">One diagnostic line.</param>
    public void Add(string message)
    {
        if (_kept.Count < Capacity)
        {
            _kept.Add(message);
        }
        else
        {
            Omitted++;
        }
    }

    /// <summary>Appends another pass's messages, keeping the bound.</summary>
    /// <param name="other">The messages to append.</param>
    public void AddRange(CheckMessages other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var message in other._kept)
        {
            Add(message);
        }

        Omitted += other.Omitted;
    }

    /// <inheritdoc/>
    public IEnumerator<string> GetEnumerator() => _kept.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
