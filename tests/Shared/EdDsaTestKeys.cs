using System.Formats.Asn1;

namespace Oakley.Tests.Shared;

/// <summary>
/// Ed25519 and Ed448 private keys as DER PKCS#8 (RFC 8410 §7: the privateKey OCTET STRING wraps the seed's),
/// which the BCL cannot export for these curves. Used by the signature tests and benchmarks.
/// </summary>
public static class EdDsaTestKeys
{
    public static byte[] Pkcs8(ReadOnlySpan<byte> seed, bool ed448)
    {
        var inner = new AsnWriter(AsnEncodingRules.DER);
        inner.WriteOctetString(seed);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(0);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(ed448 ? "1.3.101.113" : "1.3.101.112");
            }

            writer.WriteOctetString(inner.Encode());
        }

        return writer.Encode();
    }
}
