namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>
/// Configuration payload, CP (RFC 7296 §3.15).
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   CFG Type    |                    RESERVED                   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                   Configuration Attributes                    ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// Attribute:
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |R|         Attribute Type      |            Length             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                             Value                             ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public sealed class ConfigurationPayload(ConfigurationType cfgType, List<ConfigurationAttribute> attributes) : IkePayload
{
    public override PayloadType Type => PayloadType.Configuration;

    public ConfigurationType CfgType { get; } = cfgType;

    public List<ConfigurationAttribute> Attributes { get; } = attributes;

    internal static ConfigurationPayload DecodeBody(ReadOnlyMemory<byte> body)
    {
        var r = new WireReader(body.Span, "CP payload");
        var type = (ConfigurationType)r.ReadByte();
        r.Skip(3);
        var list = new List<ConfigurationAttribute>();
        while (!r.IsEmpty)
        {
            // The R bit is reserved: ignored on receipt (RFC 7296 §3.15.1).
            var attrType = (ConfigurationAttributeType)(r.ReadUInt16() & 0x7FFF);
            int length = r.ReadUInt16();
            list.Add(new ConfigurationAttribute(attrType, body[r.ReadRange(length)]));
        }

        return new ConfigurationPayload(type, list);
    }

    public override void WriteBody(ref IkeMessageWriter writer)
    {
        writer.WriteByte((byte)CfgType);
        writer.WriteZeros(3);
        foreach (var a in Attributes)
        {
            writer.WriteUInt16((ushort)((ushort)a.AttributeType & 0x7FFF));
            writer.WriteUInt16(checked((ushort)a.Value.Length));
            writer.WriteBytes(a.Value.Span);
        }
    }
}

/// <summary>One configuration attribute; an empty value in a CFG_REQUEST asks for any value.</summary>
public sealed record ConfigurationAttribute(ConfigurationAttributeType AttributeType, ReadOnlyMemory<byte> Value);
