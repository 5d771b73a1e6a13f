namespace DiskImage.Operations.Bench;

/// <summary>
/// One <c>qemu-img bench</c> run: <see cref="Count"/> requests of <see cref="BufferSize"/> bytes,
/// <see cref="Depth"/> of them in flight, starting at <see cref="Offset"/> and advancing by
/// <see cref="EffectiveStep"/>. Defaults are qemu-img's.
/// </summary>
public sealed record ImageBenchmarkOptions
{
    /// <summary>Largest request accepted; the run keeps one buffer of this size.</summary>
    public const int MaxBufferSize = 1 << 30;

    /// <summary>Most requests in flight (one worker thread each).</summary>
    public const int MaxDepth = 1024;

    /// <summary>Format name, or null to probe.</summary>
    public string? Format { get; init; }

    /// <summary>Number of requests (<c>-c</c>).</summary>
    public int Count { get; init; } = 75000;

    /// <summary>Requests in flight at once (<c>-d</c>).</summary>
    public int Depth { get; init; } = 64;

    /// <summary>Bytes per request (<c>-s</c>).</summary>
    public int BufferSize { get; init; } = 4096;

    /// <summary>Distance between consecutive requests (<c>-S</c>); null means <see cref="BufferSize"/>.</summary>
    public int? Step { get; init; }

    /// <summary>Offset of the first request (<c>-o</c>).</summary>
    public long Offset { get; init; }

    /// <summary>Write instead of read (<c>-w</c>).</summary>
    public bool Write { get; init; }

    /// <summary>Byte every written request is filled with (<c>--pattern</c>).</summary>
    public byte Pattern { get; init; }

    /// <summary>Flush after every this many completed writes (<c>--flush-interval</c>); 0 for never.</summary>
    public int FlushInterval { get; init; }

    /// <summary>Cache mode (<c>-t</c>).</summary>
    public BenchmarkCacheMode Cache { get; init; } = BenchmarkCacheMode.Writeback;

    /// <summary>The step actually used.</summary>
    public int EffectiveStep => Step ?? BufferSize;

    /// <summary>Refuses combinations qemu-img refuses, and sizes this implementation cannot honour.</summary>
    public void Validate()
    {
        // qemu-img takes 0 requests (the run ends at once) and 0-byte requests.
        if (Count < 0)
        {
            throw new InvalidOptionException("Invalid request count specified");
        }

        if (Depth < 1 || Depth > MaxDepth)
        {
            throw new InvalidOptionException($"Invalid queue depth specified (1 to {MaxDepth})");
        }

        if (BufferSize < 0 || BufferSize > MaxBufferSize)
        {
            throw new InvalidOptionException("Invalid buffer size specified");
        }

        if (EffectiveStep < 0)
        {
            throw new InvalidOptionException("Invalid step size specified");
        }

        if (Offset < 0)
        {
            throw new InvalidOptionException("Invalid offset specified");
        }

        if (FlushInterval < 0)
        {
            throw new InvalidOptionException("Invalid flush interval specified");
        }

        if (FlushInterval > 0 && !Write)
        {
            throw new InvalidOptionException("--flush-interval is only available in write tests");
        }

        if (FlushInterval > 0 && FlushInterval < Depth)
        {
            throw new InvalidOptionException("Flush interval can't be smaller than depth");
        }
    }

    /// <summary>Supplies secrets by id, for encrypted images.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary><c>encrypt.key-secret</c>: the secret that unlocks an encrypted image (and its backing files).</summary>
    public string? KeySecret { get; init; }

    /// <summary><c>-U</c>: open the image sharing every permission; refused with <see cref="Write"/>.</summary>
    public bool ForceShare { get; init; }
}
