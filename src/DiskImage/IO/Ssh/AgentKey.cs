using Renci.SshNet;
using Renci.SshNet.Security;

namespace DiskImage.IO.Ssh;

/// <summary>
/// One identity the ssh-agent holds, offered to the server as publickey authentication: the agent signs, the key
/// never leaves it. An RSA key is offered with SHA-2 signatures (rsa-sha2-512, then rsa-sha2-256), as servers
/// refuse SHA-1 ones today.
/// </summary>
internal sealed class AgentKey : IPrivateKeySource
{
    private const uint RsaSha256 = 2;
    private const uint RsaSha512 = 4;

    public AgentKey(SshAgent agent, byte[] blob)
    {
        var type = new WireReader(blob).Text() ?? "";
        HostKeyAlgorithms = type == "ssh-rsa"
            ? [new AgentSigner("rsa-sha2-512", agent, blob, RsaSha512), new AgentSigner("rsa-sha2-256", agent, blob, RsaSha256)]
            : [new AgentSigner(type, agent, blob, 0)];
    }

    /// <inheritdoc/>
    public IReadOnlyCollection<HostAlgorithm> HostKeyAlgorithms { get; }

    /// <summary>Signs through the agent with the signature algorithm <paramref name="name"/>.</summary>
    private sealed class AgentSigner(string name, SshAgent agent, byte[] blob, uint flags) : HostAlgorithm(name)
    {
        public override byte[] Data => blob;

        /// <summary>A refusal (the key was removed, a confirmation was denied) yields an empty signature, which the server rejects.</summary>
        public override byte[] Sign(byte[] data) => agent.Sign(blob, data, flags) ?? [];

        /// <summary>Only the client side of authentication is done here.</summary>
        public override bool VerifySignature(byte[] data, byte[] signature) => false;
    }
}
