namespace DiskImage.IO.Blkdebug;

/// <summary>What a rule does when its event is raised in its state.</summary>
internal enum BlkdebugAction
{
    /// <summary><c>[inject-error]</c>: the rule becomes active and fails the node's next matching requests.</summary>
    InjectError,

    /// <summary><c>[set-state]</c>: the node moves to <see cref="BlkdebugRule.NewState"/>.</summary>
    SetState,
}

/// <summary>Kinds of request an <c>[inject-error]</c> rule fails (QEMU's <c>BlkdebugIOType</c>, as a mask).</summary>
[Flags]
internal enum BlkdebugIoTypes
{
    /// <summary>No kind.</summary>
    None = 0,

    /// <summary><c>read</c>.</summary>
    Read = 1,

    /// <summary><c>write</c>.</summary>
    Write = 2,

    /// <summary><c>write-zeroes</c>.</summary>
    WriteZeroes = 4,

    /// <summary><c>discard</c>.</summary>
    Discard = 8,

    /// <summary><c>flush</c>.</summary>
    Flush = 16,

    /// <summary><c>block-status</c>.</summary>
    BlockStatus = 32,

    /// <summary>What a rule without <c>iotype</c> fails: everything but block status.</summary>
    Default = Read | Write | WriteZeroes | Discard | Flush,
}

/// <summary>One rule of a blkdebug node, from a rules file or from the node's options.</summary>
internal sealed class BlkdebugRule
{
    /// <summary>The event that triggers the rule.</summary>
    public required BlkdebugEvent Event { get; init; }

    /// <summary>What the rule does.</summary>
    public required BlkdebugAction Action { get; init; }

    /// <summary>The state the node must be in for the rule to act; 0 for any.</summary>
    public int State { get; init; }

    /// <summary>The errno an injected error returns (EIO unless given); 0 lets requests through.</summary>
    public int Errno { get; init; }

    /// <summary>The rule is dropped after failing one request.</summary>
    public bool Once { get; init; }

    /// <summary>QEMU fails the request without yielding first; requests here complete in order either way.</summary>
    public bool Immediately { get; init; }

    /// <summary>Only requests covering this byte offset fail (<c>sector</c> × 512); -1 for every request.</summary>
    public long Offset { get; init; } = -1;

    /// <summary>The kinds of request that fail.</summary>
    public BlkdebugIoTypes IoTypes { get; init; } = BlkdebugIoTypes.Default;

    /// <summary>The state a <c>[set-state]</c> rule moves the node to.</summary>
    public int NewState { get; init; }
}
