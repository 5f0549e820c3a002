using System.Diagnostics;
using CsCheck;
using Oakley.Iana;
using Oakley.Protocol.Isakmp;
using Oakley.Protocol.Isakmp.Payloads;
using Oakley.Protocol.Tests.Ikev2;
using Xunit.Abstractions;
using static Oakley.Protocol.Tests.TestHex;

namespace Oakley.Protocol.Tests.Isakmp;

internal static class IsakmpGenerators
{
    private static Gen<ReadOnlyMemory<byte>> Bytes(int min, int max) => Gen.Byte.Array[min, max].Select(b => (ReadOnlyMemory<byte>)b);

    private static readonly Gen<DataAttribute> Attribute = Gen.OneOf(
        Gen.Select(Gen.UShort[0, 0x7FFF], Gen.UShort, DataAttribute.Basic),
        Gen.Select(Gen.UShort[0, 0x7FFF], Bytes(0, 10), DataAttribute.Variable));

    private static readonly Gen<IsakmpTransform> Transform = Gen.Select(Gen.Byte, Gen.Byte, Attribute.List[0, 6], (n, id, a) => new IsakmpTransform(n, id, a));

    private static readonly Gen<IsakmpProposal> Proposal = Gen.Select(Gen.Byte, Gen.Byte[1, 4], Bytes(0, 8), Transform.List[0, 4],
        (n, p, spi, t) => new IsakmpProposal(n, (IsakmpProtocolId)p, spi, t));

    private static readonly Gen<IsakmpPayload> Payload = Gen.OneOf<IsakmpPayload>(
        Proposal.List[1, 3].Select(p => (IsakmpPayload)new IsakmpSaPayload(Doi.IpsecDoi, 1, p)),
        Gen.Select(Gen.OneOf(Gen.Const((byte)4), Gen.Const((byte)8), Gen.Const((byte)9), Gen.Const((byte)10), Gen.Const((byte)13), Gen.Const((byte)20), Gen.Const((byte)130)), Bytes(0, 40),
            (t, d) => (IsakmpPayload)new IsakmpDataPayload((IsakmpPayloadType)t, d)),
        Gen.Select(Gen.OneOf(Gen.Const((byte)2), Gen.Const((byte)3), Gen.Const((byte)9), Gen.Const((byte)11)), Gen.Byte, Gen.UShort, Bytes(0, 30),
            (t, p, port, d) => (IsakmpPayload)new IsakmpIdPayload((IsakmpIdType)t, p, port, d)),
        Gen.Select(Gen.Byte, Gen.UShort, Bytes(4, 4), (p, port, d) => (IsakmpPayload)new IsakmpIdPayload(IsakmpIdType.Ipv4Address, p, port, d)),
        Gen.Select(Gen.Bool, Gen.Byte, Bytes(0, 40), (cert, e, d) => (IsakmpPayload)new IsakmpCertificatePayload(cert ? IsakmpPayloadType.Certificate : IsakmpPayloadType.CertificateRequest, (IsakmpCertificateEncoding)e, d)),
        Gen.Select(Gen.Byte, Bytes(0, 16), Gen.UShort, Bytes(0, 20), (p, spi, t, d) => (IsakmpPayload)new IsakmpNotificationPayload(Doi.IpsecDoi, p, spi, (IsakmpNotifyType)t, d)),
        Gen.Select(Gen.Byte, Gen.UInt.Array[0, 4], (p, s) =>
        {
            var bytes = new byte[s.Length * 4];
            for (var i = 0; i < s.Length; i++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(i * 4), s[i]);
            }

            return (IsakmpPayload)new IsakmpDeletePayload(Doi.IpsecDoi, p, 4, (ushort)s.Length, bytes);
        }),
        Gen.Select(Gen.Byte, Gen.UShort, Attribute.List[0, 4], (t, id, a) => (IsakmpPayload)new IsakmpAttributePayload(t, id, a)),
        Bytes(4, 4).Select(a => (IsakmpPayload)new IsakmpNatOaPayload(IsakmpPayloadType.NatOriginalAddress, IsakmpIdType.Ipv4Address, a)),
        Gen.Select(Gen.UShort, Gen.Byte[1, 255], Gen.Byte, Bytes(0, 30), (id, n, f, d) => (IsakmpPayload)new IsakmpFragmentPayload(id, n, f, d)));

    public static readonly Gen<IsakmpMessage> Message = Gen.Select(Gen.ULong, Gen.ULong, Gen.Byte[1, 6], Gen.UInt, Payload.List[0, 6], (i, r, x, id, p) =>
    {
        var m = new IsakmpMessage { InitiatorCookie = i, ResponderCookie = r, ExchangeType = (IsakmpExchangeType)x, MessageId = id };
        m.Payloads.AddRange(p);
        return m;
    });
}

public class IsakmpPropertyTests(ITestOutputHelper output)
{
    [Fact]
    public void EncodeDecodeEncode_IsStable()
    {
        IsakmpGenerators.Message.Sample(m =>
        {
            var bytes = m.Encode();
            var decoded = IsakmpMessage.Decode(bytes);
            Assert.Equal(m.Payloads.Select(p => p.GetType()), decoded.Payloads.Select(p => p.GetType()));
            Assert.Equal(Of(bytes), Of(decoded.Encode()));
        }, iter: 3000, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void MutatedMessages_OnlyRaiseTheProtocolException()
    {
        const int iterations = 200_000;
        var seeds = new List<byte[]>();
        IsakmpGenerators.Message.Sample(m => seeds.Add(m.Encode()), iter: 200, seed: "0000FuzzSeed");
        var random = new Random(2408);
        int accepted = 0, rejected = 0;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            var input = Ikev2RobustnessTests.Mutate(seeds[random.Next(seeds.Count)], random);
            if (input.Length > 17 && random.Next(4) == 0)
            {
                input[17] = 0x10; // keep the version valid so that the payload parsers are reached
            }

            try
            {
                IsakmpMessage.Decode(input).Encode();
                accepted++;
            }
            catch (IkeProtocolException)
            {
                rejected++;
            }
        }

        output.WriteLine($"{iterations} inputs in {sw.Elapsed.TotalSeconds:F2} s: {accepted} accepted, {rejected} rejected");
        Assert.True(rejected > iterations / 10);
    }
}
