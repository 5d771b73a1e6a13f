namespace DiskImage.IO.Blkdebug;

/// <summary>
/// The points in a format driver's work that QEMU's debug driver can act on (QEMU's <c>BlkdebugEvent</c>), in QEMU's
/// order; rules name them by <see cref="BlkdebugEvents.Name"/>.
/// </summary>
internal enum BlkdebugEvent
{
    /// <summary><c>l1_update</c>.</summary>
    L1Update,
    /// <summary><c>l1_grow_alloc_table</c>.</summary>
    L1GrowAllocTable,
    /// <summary><c>l1_grow_write_table</c>.</summary>
    L1GrowWriteTable,
    /// <summary><c>l1_grow_activate_table</c>.</summary>
    L1GrowActivateTable,
    /// <summary><c>l2_load</c>.</summary>
    L2Load,
    /// <summary><c>l2_update</c>.</summary>
    L2Update,
    /// <summary><c>l2_update_compressed</c>.</summary>
    L2UpdateCompressed,
    /// <summary><c>l2_alloc_cow_read</c>.</summary>
    L2AllocCowRead,
    /// <summary><c>l2_alloc_write</c>.</summary>
    L2AllocWrite,
    /// <summary><c>read_aio</c>.</summary>
    ReadAio,
    /// <summary><c>read_backing_aio</c>.</summary>
    ReadBackingAio,
    /// <summary><c>read_compressed</c>.</summary>
    ReadCompressed,
    /// <summary><c>write_aio</c>.</summary>
    WriteAio,
    /// <summary><c>write_compressed</c>.</summary>
    WriteCompressed,
    /// <summary><c>vmstate_load</c>.</summary>
    VmstateLoad,
    /// <summary><c>vmstate_save</c>.</summary>
    VmstateSave,
    /// <summary><c>cow_read</c>.</summary>
    CowRead,
    /// <summary><c>cow_write</c>.</summary>
    CowWrite,
    /// <summary><c>reftable_load</c>.</summary>
    ReftableLoad,
    /// <summary><c>reftable_grow</c>.</summary>
    ReftableGrow,
    /// <summary><c>reftable_update</c>.</summary>
    ReftableUpdate,
    /// <summary><c>refblock_load</c>.</summary>
    RefblockLoad,
    /// <summary><c>refblock_update</c>.</summary>
    RefblockUpdate,
    /// <summary><c>refblock_update_part</c>.</summary>
    RefblockUpdatePart,
    /// <summary><c>refblock_alloc</c>.</summary>
    RefblockAlloc,
    /// <summary><c>refblock_alloc_hookup</c>.</summary>
    RefblockAllocHookup,
    /// <summary><c>refblock_alloc_write</c>.</summary>
    RefblockAllocWrite,
    /// <summary><c>refblock_alloc_write_blocks</c>.</summary>
    RefblockAllocWriteBlocks,
    /// <summary><c>refblock_alloc_write_table</c>.</summary>
    RefblockAllocWriteTable,
    /// <summary><c>refblock_alloc_switch_table</c>.</summary>
    RefblockAllocSwitchTable,
    /// <summary><c>cluster_alloc</c>.</summary>
    ClusterAlloc,
    /// <summary><c>cluster_alloc_bytes</c>.</summary>
    ClusterAllocBytes,
    /// <summary><c>cluster_free</c>.</summary>
    ClusterFree,
    /// <summary><c>flush_to_os</c>.</summary>
    FlushToOs,
    /// <summary><c>flush_to_disk</c>.</summary>
    FlushToDisk,
    /// <summary><c>pwritev_rmw_head</c>.</summary>
    PwritevRmwHead,
    /// <summary><c>pwritev_rmw_after_head</c>.</summary>
    PwritevRmwAfterHead,
    /// <summary><c>pwritev_rmw_tail</c>.</summary>
    PwritevRmwTail,
    /// <summary><c>pwritev_rmw_after_tail</c>.</summary>
    PwritevRmwAfterTail,
    /// <summary><c>pwritev</c>.</summary>
    Pwritev,
    /// <summary><c>pwritev_zero</c>.</summary>
    PwritevZero,
    /// <summary><c>pwritev_done</c>.</summary>
    PwritevDone,
    /// <summary><c>empty_image_prepare</c>.</summary>
    EmptyImagePrepare,
    /// <summary><c>l1_shrink_write_table</c>.</summary>
    L1ShrinkWriteTable,
    /// <summary><c>l1_shrink_free_l2_clusters</c>.</summary>
    L1ShrinkFreeL2Clusters,
    /// <summary><c>cor_write</c>.</summary>
    CorWrite,
    /// <summary><c>cluster_alloc_space</c>.</summary>
    ClusterAllocSpace,
    /// <summary><c>none</c>.</summary>
    None,
}

/// <summary>The names rules use for <see cref="BlkdebugEvent"/> values.</summary>
internal static class BlkdebugEvents
{
    private static readonly string[] Names =
    [
        "l1_update",
        "l1_grow_alloc_table",
        "l1_grow_write_table",
        "l1_grow_activate_table",
        "l2_load",
        "l2_update",
        "l2_update_compressed",
        "l2_alloc_cow_read",
        "l2_alloc_write",
        "read_aio",
        "read_backing_aio",
        "read_compressed",
        "write_aio",
        "write_compressed",
        "vmstate_load",
        "vmstate_save",
        "cow_read",
        "cow_write",
        "reftable_load",
        "reftable_grow",
        "reftable_update",
        "refblock_load",
        "refblock_update",
        "refblock_update_part",
        "refblock_alloc",
        "refblock_alloc_hookup",
        "refblock_alloc_write",
        "refblock_alloc_write_blocks",
        "refblock_alloc_write_table",
        "refblock_alloc_switch_table",
        "cluster_alloc",
        "cluster_alloc_bytes",
        "cluster_free",
        "flush_to_os",
        "flush_to_disk",
        "pwritev_rmw_head",
        "pwritev_rmw_after_head",
        "pwritev_rmw_tail",
        "pwritev_rmw_after_tail",
        "pwritev",
        "pwritev_zero",
        "pwritev_done",
        "empty_image_prepare",
        "l1_shrink_write_table",
        "l1_shrink_free_l2_clusters",
        "cor_write",
        "cluster_alloc_space",
        "none",
    ];

    /// <summary>Number of events.</summary>
    public static int Count => Names.Length;

    /// <summary>QEMU's name of <paramref name="value"/>.</summary>
    public static string Name(BlkdebugEvent value) => Names[(int)value];

    /// <summary>The event named <paramref name="name"/>; false for a name QEMU does not know.</summary>
    public static bool TryParse(string name, out BlkdebugEvent value)
    {
        var index = Array.IndexOf(Names, name);
        value = (BlkdebugEvent)Math.Max(index, 0);
        return index >= 0;
    }
}
