using DiskImage.Crypto;

namespace DiskImage.Formats.Luks;

/// <summary>
/// The <c>format-specific</c> data <c>info</c> shows for a standalone LUKS image (<c>type: "luks"</c>): the header's
/// cipher, hashes, UUID, key slots and payload offset, the same fields as qcow2's <c>encrypt</c> object without its <c>format</c>.
/// </summary>
/// <param name="Encryption">What the LUKS header says.</param>
public sealed record LuksSpecificInfo(EncryptionInfo Encryption) : FormatSpecificInfo("luks");
