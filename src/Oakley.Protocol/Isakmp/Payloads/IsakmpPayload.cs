using Oakley.Iana;

namespace Oakley.Protocol.Isakmp.Payloads;

/// <summary>A decoded ISAKMP payload; byte fields are slices of the received datagram.</summary>
public abstract class IsakmpPayload
{
    public abstract IsakmpPayloadType Type { get; }

    public abstract void WriteBody(ref IsakmpMessageWriter writer);

    public static IsakmpPayload Decode(IsakmpPayloadType type, ReadOnlyMemory<byte> body) => type switch
    {
        IsakmpPayloadType.SecurityAssociation => IsakmpSaPayload.DecodeBody(body),
        IsakmpPayloadType.KeyExchange => new IsakmpDataPayload(type, body),
        IsakmpPayloadType.Identification => IsakmpIdPayload.DecodeBody(body),
        IsakmpPayloadType.Certificate => IsakmpCertificatePayload.DecodeBody(type, body),
        IsakmpPayloadType.CertificateRequest => IsakmpCertificatePayload.DecodeBody(type, body),
        IsakmpPayloadType.Hash or IsakmpPayloadType.Signature or IsakmpPayloadType.Nonce or IsakmpPayloadType.VendorId
            or IsakmpPayloadType.NatDiscovery or IsakmpPayloadType.NatDiscoveryDraft => new IsakmpDataPayload(type, body),
        IsakmpPayloadType.Notification => IsakmpNotificationPayload.DecodeBody(body),
        IsakmpPayloadType.Delete => IsakmpDeletePayload.DecodeBody(body),
        IsakmpPayloadType.Attribute => IsakmpAttributePayload.DecodeBody(body),
        IsakmpPayloadType.NatOriginalAddress or IsakmpPayloadType.NatOriginalAddressDraft => IsakmpNatOaPayload.DecodeBody(type, body),
        IsakmpPayloadType.Fragment => IsakmpFragmentPayload.DecodeBody(body),
        _ => throw IkeProtocolException.WithIsakmpNotify(IsakmpNotifyType.InvalidPayloadType, $"payload type {(byte)type} cannot appear here"),
    };

    internal static WireReader Reader(ReadOnlySpan<byte> body, string what) => new(body, what, isakmp: true);
}

/// <summary>
/// Payloads whose body is opaque data: KE (§3.7), HASH (§3.11), SIG (§3.12), NONCE (§3.13), VID (§3.16) and
/// NAT-D (RFC 3947 §3.2).
/// </summary>
public sealed class IsakmpDataPayload(IsakmpPayloadType type, ReadOnlyMemory<byte> data) : IsakmpPayload
{
    public override IsakmpPayloadType Type { get; } = type;

    public ReadOnlyMemory<byte> Data { get; } = data;

    public override void WriteBody(ref IsakmpMessageWriter writer) => writer.WriteBytes(Data.Span);
}

/// <summary>One SA attribute in basic (AF=1, TV) or variable (AF=0, TLV) form (RFC 2408 §3.3).</summary>
public sealed class DataAttribute
{
    private DataAttribute(ushort type, bool isBasic, ushort basicValue, ReadOnlyMemory<byte> value)
    {
        Type = type;
        IsBasic = isBasic;
        BasicValue = basicValue;
        Value = value;
    }

    public ushort Type { get; }

    public bool IsBasic { get; }

    public ushort BasicValue { get; }

    public ReadOnlyMemory<byte> Value { get; }

    public static DataAttribute Basic(ushort type, ushort value) => new((ushort)(type & 0x7FFF), true, value, default);

    public static DataAttribute Variable(ushort type, ReadOnlyMemory<byte> value) => new((ushort)(type & 0x7FFF), false, 0, value);

    /// <summary>The attribute as an integer: the basic value, or a variable value of up to 8 bytes (life durations).</summary>
    public ulong AsInteger()
    {
        if (IsBasic)
        {
            return BasicValue;
        }

        ulong v = 0;
        foreach (var b in Value.Span[..Math.Min(8, Value.Length)])
        {
            v = (v << 8) | b;
        }

        return v;
    }

    internal static List<DataAttribute> DecodeList(ReadOnlyMemory<byte> data)
    {
        var list = new List<DataAttribute>();
        var r = IsakmpPayload.Reader(data.Span, "data attribute");
        while (!r.IsEmpty)
        {
            var t = r.ReadUInt16();
            if ((t & 0x8000) != 0)
            {
                list.Add(Basic(t, r.ReadUInt16()));
            }
            else
            {
                int length = r.ReadUInt16();
                list.Add(Variable(t, data[r.ReadRange(length)]));
            }
        }

        return list;
    }

    internal void Write(ref IsakmpMessageWriter writer)
    {
        if (IsBasic)
        {
            writer.WriteUInt16((ushort)(Type | 0x8000));
            writer.WriteUInt16(BasicValue);
        }
        else
        {
            writer.WriteUInt16(Type);
            writer.WriteUInt16(checked((ushort)Value.Length));
            writer.WriteBytes(Value.Span);
        }
    }
}
