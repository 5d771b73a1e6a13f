namespace DiskImage.Cli.Rendering;

/// <summary>
/// The creation and amend options qemu-img 7.2 lists for <c>-o help</c>, per format, with its names, value types and
/// descriptions (what scripts and users compare against), and the <c>file</c> protocol's own options, which qemu-img
/// adds when a target file name is given.
/// </summary>
internal static class CreateOptionTable
{
    public sealed record Entry(string Name, string Type, string Help);

    public static readonly IReadOnlyDictionary<string, Entry[]> Create = new Dictionary<string, Entry[]>(StringComparer.Ordinal)
    {
        ["qcow2"] =
        [
            new("backing_file", "str", "File name of a base image"),
            new("backing_fmt", "str", "Image format of the base image"),
            new("cluster_size", "size", "qcow2 cluster size"),
            new("compat", "str", "Compatibility level (v2 [0.10] or v3 [1.1])"),
            new("compression_type", "str", "Compression method used for image cluster compression"),
            new("data_file", "str", "File name of an external data file"),
            new("data_file_raw", "bool (on/off)", "The external data file must stay valid as a raw image"),
            new("encrypt.cipher-alg", "str", "Name of encryption cipher algorithm"),
            new("encrypt.cipher-mode", "str", "Name of encryption cipher mode"),
            new("encrypt.format", "str", "Encrypt the image, format choices: 'aes', 'luks'"),
            new("encrypt.hash-alg", "str", "Name of encryption hash algorithm"),
            new("encrypt.iter-time", "num", "Time to spend in PBKDF in milliseconds"),
            new("encrypt.ivgen-alg", "str", "Name of IV generator algorithm"),
            new("encrypt.ivgen-hash-alg", "str", "Name of IV generator hash algorithm"),
            new("encrypt.key-secret", "str", "ID of secret providing qcow AES key or LUKS passphrase"),
            new("encryption", "bool (on/off)", "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)"),
            new("extended_l2", "bool (on/off)", "Extended L2 tables"),
            new("lazy_refcounts", "bool (on/off)", "Postpone refcount updates"),
            new("preallocation", "str", "Preallocation mode (allowed values: off, metadata, falloc, full)"),
            new("refcount_bits", "num", "Width of a reference count entry in bits"),
            new("size", "size", "Virtual disk size"),
        ],
        ["qcow"] =
        [
            new("backing_file", "str", "File name of a base image"),
            new("backing_fmt", "str", "Format of the backing image"),
            new("encrypt.format", "str", "Encrypt the image, format choices: 'aes'"),
            new("encrypt.key-secret", "str", "ID of the secret that provides the AES encryption key"),
            new("encryption", "bool (on/off)", "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)"),
            new("size", "size", "Virtual disk size"),
        ],
        ["parallels"] =
        [
            new("cluster_size", "size", "Parallels image cluster size"),
            new("size", "size", "Virtual disk size"),
        ],
        ["qed"] =
        [
            new("backing_file", "str", "File name of a base image"),
            new("backing_fmt", "str", "Image format of the base image"),
            new("cluster_size", "size", "Cluster size (in bytes)"),
            new("size", "size", "Virtual disk size"),
            new("table_size", "size", "L1/L2 table size (in clusters)"),
        ],
        ["raw"] =
        [
            new("size", "size", "Virtual disk size"),
        ],
        ["vdi"] =
        [
            new("size", "size", "Virtual disk size"),
            new("static", "bool (on/off)", "VDI static (pre-allocated) image"),
        ],
        ["vhdx"] =
        [
            new("block_size", "size", "Block Size; min 1MB, max 256MB. 0 means auto-calculate based on image size."),
            new("block_state_zero", "bool (on/off)", "Force use of payload blocks of type 'ZERO'. Non-standard, but default.  Do not set to 'off' when using 'qemu-img convert' with subformat=dynamic."),
            new("log_size", "size", "Log size; min 1MB."),
            new("size", "size", "Virtual disk size; max of 64TB."),
            new("subformat", "str", "VHDX format type, can be either 'dynamic' or 'fixed'. Default is 'dynamic'."),
        ],
        ["vmdk"] =
        [
            new("adapter_type", "str", "Virtual adapter type, can be one of ide (default), lsilogic, buslogic or legacyESX"),
            new("backing_file", "str", "File name of a base image"),
            new("backing_fmt", "str", "Must be 'vmdk' if present"),
            new("compat6", "bool (on/off)", "VMDK version 6 image"),
            new("hwversion", "str", "VMDK hardware version"),
            new("size", "size", "Virtual disk size"),
            new("subformat", "str", "VMDK flat extent format, can be one of {monolithicSparse (default) | monolithicFlat | twoGbMaxExtentSparse | twoGbMaxExtentFlat | streamOptimized} "),
            new("toolsversion", "str", "VMware guest tools version"),
            new("zeroed_grain", "bool (on/off)", "Enable efficient zero writes using the zeroed-grain GTE feature"),
        ],
        ["vpc"] =
        [
            new("force_size", "bool (on/off)", "Force disk size calculation to use the actual size specified, rather than using the nearest CHS-based calculation"),
            new("size", "size", "Virtual disk size"),
            new("subformat", "str", "Type of virtual hard disk format. Supported formats are {dynamic (default) | fixed} "),
        ],
        ["luks"] =
        [
            new("cipher-alg", "str", "Name of encryption cipher algorithm"),
            new("cipher-mode", "str", "Name of encryption cipher mode"),
            new("hash-alg", "str", "Name of encryption hash algorithm"),
            new("iter-time", "num", "Time to spend in PBKDF in milliseconds"),
            new("ivgen-alg", "str", "Name of IV generator algorithm"),
            new("ivgen-hash-alg", "str", "Name of IV generator hash algorithm"),
            new("key-secret", "str", "ID of the secret that provides the keyslot passphrase"),
            new("size", "size", "Virtual disk size"),
        ],
    };

    public static readonly Entry[] FileProtocol =
    [
            new("extent_size_hint", "size", "Extent size hint for the image file, 0 to disable"),
            new("nocow", "bool (on/off)", "Turn off copy-on-write (valid only on btrfs)"),
            new("preallocation", "str", "Preallocation mode (allowed values: off, falloc, full)"),
    ];

    public static readonly IReadOnlyDictionary<string, Entry[]> Amend = new Dictionary<string, Entry[]>(StringComparer.Ordinal)
    {
        ["qcow2"] =
        [
                new("backing_file", "str", "File name of a base image"),
                new("backing_fmt", "str", "Image format of the base image"),
                new("compat", "str", "Compatibility level (v2 [0.10] or v3 [1.1])"),
                new("data_file", "str", "File name of an external data file"),
                new("data_file_raw", "bool (on/off)", "The external data file must stay valid as a raw image"),
                new("encrypt.iter-time", "num", "Time to spend in PBKDF in milliseconds"),
                new("encrypt.keyslot", "num", "Select a single keyslot to modify explicitly"),
                new("encrypt.new-secret", "str", "New secret to set in the matching keyslots. Empty string to erase"),
                new("encrypt.old-secret", "str", "Select all keyslots that match this password"),
                new("encrypt.state", "str", "Select new state of affected keyslots (active/inactive)"),
                new("lazy_refcounts", "bool (on/off)", "Postpone refcount updates"),
                new("refcount_bits", "num", "Width of a reference count entry in bits"),
                new("size", "size", "Virtual disk size"),
        ],
        ["luks"] =
        [
                new("iter-time", "num", "Time to spend in PBKDF in milliseconds"),
                new("keyslot", "num", "Select a single keyslot to modify explicitly"),
                new("new-secret", "str", "New secret to set in the matching keyslots. Empty string to erase"),
                new("old-secret", "str", "Select all keyslots that match this password"),
                new("state", "str", "Select new state of affected keyslots (active/inactive)"),
        ],
    };
}
