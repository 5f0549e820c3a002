using Oakley.Crypto;

namespace Oakley.Engine.Eap;

/// <summary>PLACEHOLDER until the methods branch lands: builds the EAP methods Oakley has.</summary>
public static class EapMethods
{
    public static IEapServerMethod? Server(EapType type, string eapIdentity, byte[] secret, IEntropySource entropy) => null;

    public static IEapPeerMethod? Peer(EapType type, string eapIdentity, byte[] secret, IEntropySource entropy) => null;
}
