namespace DiskImage.IO.Iscsi;

/// <summary>RFC 7143's PDU opcodes (the low six bits of the first byte).</summary>
internal enum IscsiOpcode : byte
{
    NopOut = 0x00,
    ScsiCommand = 0x01,
    LoginRequest = 0x03,
    TextRequest = 0x04,
    DataOut = 0x05,
    LogoutRequest = 0x06,
    NopIn = 0x20,
    ScsiResponse = 0x21,
    LoginResponse = 0x23,
    TextResponse = 0x24,
    DataIn = 0x25,
    LogoutResponse = 0x26,
    ReadyToTransfer = 0x31,
    AsyncMessage = 0x32,
    Reject = 0x3f,
}
