using CsCheck;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Protocol.Tests.Ikev2;

/// <summary>CsCheck generators for well-formed IKEv2 payload trees.</summary>
internal static class Ikev2Generators
{
    private static Gen<ReadOnlyMemory<byte>> Bytes(int min, int max) => Gen.Byte.Array[min, max].Select(b => (ReadOnlyMemory<byte>)b);

    private static readonly Gen<TransformAttribute> Attribute = Gen.OneOf(
        Gen.Select(Gen.UShort[0, 0x7FFF], Gen.UShort, TransformAttribute.Tv),
        Gen.Select(Gen.UShort[0, 0x7FFF], Bytes(0, 12), TransformAttribute.Tlv));

    private static readonly Gen<Transform> TransformGen =
        Gen.Select(Gen.Byte[1, 12], Gen.UShort, Attribute.List[0, 3], (t, id, a) => new Transform((TransformType)t, id, a));

    private static readonly Gen<Proposal> ProposalGen =
        Gen.Select(Gen.Byte[1, 255], Gen.Byte[1, 3], Gen.OneOf(Gen.Const(0), Gen.Const(4), Gen.Const(8)), TransformGen.List[1, 6])
            .SelectMany(x => Bytes(x.Item3, x.Item3).Select(spi => new Proposal(x.Item1, (ProtocolId)x.Item2, spi, x.Item4)));

    private static readonly Gen<TrafficSelector> SelectorGen = Gen.OneOf(
        Gen.Select(Gen.Byte, Gen.UShort, Gen.UShort, Bytes(4, 4), Bytes(4, 4), TrafficSelector.Ip),
        Gen.Select(Gen.Byte, Gen.UShort, Gen.UShort, Bytes(16, 16), Bytes(16, 16), TrafficSelector.Ip),
        Gen.Select(Gen.Byte, Bytes(0, 20), (b, o) => TrafficSelector.Other(TrafficSelectorType.FcAddrRange, b, o)));

    private static readonly Gen<IkePayload> Plain = Gen.OneOf<IkePayload>(
        ProposalGen.List[1, 4].Select(p => (IkePayload)new SecurityAssociationPayload(p)),
        Gen.Select(Gen.UShort, Bytes(0, 64), (g, d) => (IkePayload)new KeyExchangePayload((KeId)g, d)),
        Gen.Select(Gen.Bool, Gen.OneOf(Gen.Const((byte)2), Gen.Const((byte)3), Gen.Const((byte)9), Gen.Const((byte)11)), Bytes(0, 40),
            (i, t, d) => (IkePayload)new IdentificationPayload(i, (IdentificationType)t, d)),
        Gen.Select(Gen.Bool, Bytes(4, 4), (i, d) => (IkePayload)new IdentificationPayload(i, IdentificationType.Ipv4Address, d)),
        Gen.Select(Gen.Byte, Bytes(0, 80), (e, d) => (IkePayload)new CertificatePayload((CertificateEncoding)e, d)),
        Gen.Select(Gen.Byte, Bytes(0, 60), (e, d) => (IkePayload)new CertificateRequestPayload((CertificateEncoding)e, d)),
        Gen.Select(Gen.Byte, Bytes(0, 64), (m, d) => (IkePayload)new AuthenticationPayload((AuthMethod)m, d)),
        Bytes(16, 256).Select(n => (IkePayload)new NoncePayload(n)),
        Gen.Select(Gen.Byte, Bytes(0, 8), Gen.UShort, Bytes(0, 40), (p, s, t, d) => (IkePayload)new NotifyPayload((ProtocolId)p, s, (NotifyType)t, d)),
        Gen.Select(Gen.Byte[2, 3], Gen.UInt.Array[0, 5], (p, s) => (IkePayload)DeletePayload.ForChildSas((ProtocolId)p, s)),
        Gen.Const(0).Select(_ => (IkePayload)DeletePayload.ForIke()),
        Bytes(0, 40).Select(v => (IkePayload)new VendorIdPayload(v)),
        Gen.Select(Gen.Bool, SelectorGen.List[1, 4], (i, s) => (IkePayload)new TrafficSelectorPayload(i, s)),
        Gen.Select(Gen.Byte[1, 4], Gen.Select(Gen.UShort[0, 0x7FFF], Bytes(0, 16), (t, v) => new ConfigurationAttribute((ConfigurationAttributeType)t, v)).List[0, 5],
            (t, a) => (IkePayload)new ConfigurationPayload((ConfigurationType)t, a)),
        Gen.Select(Gen.Byte[1, 2], Gen.Byte, Gen.Byte, Gen.Byte.Array[0, 30], (code, id, type, data) =>
        {
            var m = new byte[5 + data.Length];
            m[0] = code;
            m[1] = id;
            m[2] = (byte)(m.Length >> 8);
            m[3] = (byte)m.Length;
            m[4] = type;
            data.CopyTo(m, 5);
            return (IkePayload)new EapPayload(m);
        }));

    private static readonly Gen<IkePayload> WithCritical = Gen.Select(Plain, Gen.Bool, (p, c) =>
    {
        p.Critical = c;
        return p;
    });

    private static readonly Gen<IkePayload> Encrypted = Gen.OneOf<IkePayload>(
        Gen.Select(Gen.Byte[33, 48], Bytes(0, 64), (t, b) => (IkePayload)new EncryptedPayload((PayloadType)t, b)),
        Gen.Select(Gen.UShort[1, 50], Bytes(0, 64)).SelectMany(x => Gen.UShort[x.Item1, 60].Select(total =>
            (IkePayload)new EncryptedFragmentPayload(x.Item1 == 1 ? PayloadType.SecurityAssociation : PayloadType.None, x.Item1, total, x.Item2))));

    /// <summary>A payload chain: plain payloads, optionally ending with SK or SKF.</summary>
    public static readonly Gen<List<IkePayload>> Chain = Gen.Select(WithCritical.List[0, 6], Gen.Bool, Encrypted, (list, withSk, sk) =>
    {
        if (withSk)
        {
            list.Add(sk);
        }

        return list;
    });

    public static readonly Gen<IkeMessage> Message = Gen.Select(Gen.ULong, Gen.ULong, Gen.Byte[34, 37], Gen.Byte, Gen.UInt, Chain, (i, r, x, f, id, payloads) =>
    {
        var m = new IkeMessage { InitiatorSpi = i, ResponderSpi = r, ExchangeType = (ExchangeType)x, Flags = (IkeHeaderFlags)f, MessageId = id };
        m.Payloads.AddRange(payloads);
        return m;
    });
}
