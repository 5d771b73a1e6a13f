namespace DiskImage.Formats.Qcow2;

/// <summary>
/// qcow2's runtime options (<c>lazy-refcounts</c>, <c>overlap-check</c> and its per-structure switches,
/// <c>pass-discard-*</c> and the cache options of <see cref="Qcow2CacheOptions"/>), checked against the opened image
/// in the order QEMU checks them, so the first complaint is QEMU's.
/// </summary>
internal sealed record Qcow2RuntimeOptions(bool LazyRefcounts, bool InactiveL2OverlapCheck)
{
    private static readonly string[] OverlapTemplates = ["none", "constant", "cached", "all"];

    /// <summary>The per-structure overlap switches a new template replaces.</summary>
    private static readonly string[] OverlapSwitches =
    [
        "overlap-check", "overlap-check.template", "overlap-check.main-header", "overlap-check.active-l1", "overlap-check.active-l2",
        "overlap-check.refcount-table", "overlap-check.refcount-block", "overlap-check.snapshot-table", "overlap-check.inactive-l1",
        "overlap-check.inactive-l2",
    ];

    /// <summary>
    /// The options a reopen applies: <paramref name="given"/> over the <paramref name="old"/> ones, as QEMU joins them
    /// for qcow2 (a new overlap template drops the old switches; a new total cache size drops the old part sizes, and
    /// an old total gives way to any part size).
    /// </summary>
    public static List<KeyValuePair<string, string>> Join(IEnumerable<KeyValuePair<string, string>> old, IReadOnlyList<KeyValuePair<string, string>> given)
    {
        bool Given(string key) => given.Any(o => o.Key == key);
        var kept = old.Where(o => !Given(o.Key)).ToList();
        if (Given("overlap-check") || Given("overlap-check.template"))
        {
            kept.RemoveAll(o => Array.IndexOf(OverlapSwitches, o.Key) >= 0);
        }

        var newTotal = Given("cache-size");
        if (newTotal)
        {
            kept.RemoveAll(o => o.Key is "l2-cache-size" or "refcount-cache-size");
        }

        var joined = given.Concat(kept).ToList();
        if (!newTotal && joined.Exists(o => o.Key is "cache-size" or "l2-cache-size" or "refcount-cache-size"))
        {
            joined.RemoveAll(o => o.Key == "cache-size");
        }

        return joined;
    }

    /// <summary>The settings <paramref name="options"/> ask for (booleans already "on"/"off"), or qemu's complaint.</summary>
    /// <exception cref="InvalidOptionException">A value or combination QEMU refuses.</exception>
    public static Qcow2RuntimeOptions From(IReadOnlyDictionary<string, string> options, Qcow2Header header)
    {
        Qcow2CacheOptions.Validate(options, header.ClusterSize, header.Size, header.ExtendedL2 ? 16 : 8);

        // Without the option, the header's compatible feature bit decides.
        var lazy = options.TryGetValue("lazy-refcounts", out var lazyText) ? lazyText == "on" : header.LazyRefcounts;
        if (lazy && header.Version < 3)
        {
            throw new InvalidOptionException("Lazy refcounts require a qcow2 image with at least qemu 1.1 compatibility level");
        }

        options.TryGetValue("overlap-check", out var overlap);
        options.TryGetValue("overlap-check.template", out var template);
        if (overlap is not null && template is not null && overlap != template)
        {
            throw new InvalidOptionException($"Conflicting values for qcow2 options 'overlap-check' ('{overlap}') and 'overlap-check.template' ('{template}')");
        }

        overlap ??= template ?? "cached";
        if (Array.IndexOf(OverlapTemplates, overlap) < 0)
        {
            throw new InvalidOptionException($"Unsupported value '{overlap}' for qcow2 option 'overlap-check'. Allowed are any of the following: none, constant, cached, all");
        }

        // Only the inactive L2 check changes what this driver does: the others are always made (see OverlapCheck).
        var inactiveL2 = options.TryGetValue("overlap-check.inactive-l2", out var inactive) ? inactive == "on" : overlap == "all";
        return new Qcow2RuntimeOptions(lazy, inactiveL2);
    }
}
