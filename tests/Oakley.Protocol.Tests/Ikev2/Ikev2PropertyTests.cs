using CsCheck;
using Oakley.Protocol.Ikev2;
using static Oakley.Protocol.Tests.TestHex;

namespace Oakley.Protocol.Tests.Ikev2;

/// <summary>
/// Round trips over generated payload trees. These catch asymmetric bugs only: the golden vectors pin the
/// wire format itself.
/// </summary>
public class Ikev2PropertyTests
{
    [Fact]
    public void EncodeDecodeEncode_IsStable()
    {
        Ikev2Generators.Message.Sample(m =>
        {
            var first = m.Encode();
            var decoded = IkeMessage.Decode(first);
            Assert.Equal(m.Payloads.Count, decoded.Payloads.Count);
            for (var i = 0; i < m.Payloads.Count; i++)
            {
                Assert.Equal(m.Payloads[i].GetType(), decoded.Payloads[i].GetType());
                Assert.Equal(m.Payloads[i].Critical, decoded.Payloads[i].Critical);
            }

            Assert.Equal(Of(first), Of(decoded.Encode()));
        }, iter: 3000, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void EncodedLength_MatchesHeaderLength()
    {
        Ikev2Generators.Message.Sample(m =>
        {
            var bytes = m.Encode();
            var header = IkeHeader.ReadUnchecked(bytes);
            Assert.Equal((uint)bytes.Length, header.Length);
            Assert.Equal(bytes.Length, m.GetEncodedLength());
        }, iter: 500);
    }
}
