namespace Oakley.Protocol.Ikev2.Payloads;

/// <summary>
/// Traffic Selector payload, TSi or TSr (RFC 7296 §3.13).
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Number of TSs |                 RESERVED                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                       &lt;Traffic Selectors&gt;                     ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public sealed class TrafficSelectorPayload(bool initiator, List<TrafficSelector> selectors) : IkePayload
{
    public override PayloadType Type => IsInitiator ? PayloadType.TrafficSelectorInitiator : PayloadType.TrafficSelectorResponder;

    public bool IsInitiator { get; } = initiator;

    public List<TrafficSelector> Selectors { get; } = selectors;

    internal static TrafficSelectorPayload DecodeBody(ReadOnlyMemory<byte> body, bool initiator)
    {
        var r = new WireReader(body.Span, initiator ? "TSi payload" : "TSr payload");
        var count = r.ReadByte();
        r.Skip(3);
        if (count == 0)
        {
            r.Fail("no traffic selectors");
        }

        var list = new List<TrafficSelector>(count);
        for (var i = 0; i < count; i++)
        {
            var start = r.Offset;
            r.ReadByte();
            r.ReadByte();
            int length = r.ReadUInt16();
            if (length < 4)
            {
                r.Fail($"selector length {length} is shorter than 4");
            }

            r.Skip(length - 4);
            list.Add(TrafficSelector.Decode(body.Slice(start, length)));
        }

        r.ExpectEnd();
        return new TrafficSelectorPayload(initiator, list);
    }

    public override void WriteBody(ref IkeMessageWriter writer)
    {
        writer.WriteByte(checked((byte)Selectors.Count));
        writer.WriteZeros(3);
        foreach (var ts in Selectors)
        {
            ts.Write(ref writer);
        }
    }
}

/// <summary>
/// One traffic selector (RFC 7296 §3.13.1).
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   TS Type     |IP Protocol ID*|       Selector Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Start Port*         |           End Port*           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                         Starting Address*                     ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                         Ending Address*                       ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// IPv4 selectors are 16 bytes, IPv6 selectors 40. Other types (RFC 4595 Fibre Channel, RFC 9478 security
/// labels, future ones) are kept opaque: <see cref="Opaque"/> holds the bytes after the 4-byte header.
/// </summary>
public sealed class TrafficSelector
{
    private TrafficSelector(TrafficSelectorType type, byte ipProtocol, ushort startPort, ushort endPort,
        ReadOnlyMemory<byte> startAddress, ReadOnlyMemory<byte> endAddress, ReadOnlyMemory<byte> opaque)
    {
        SelectorType = type;
        IpProtocol = ipProtocol;
        StartPort = startPort;
        EndPort = endPort;
        StartAddress = startAddress;
        EndAddress = endAddress;
        Opaque = opaque;
    }

    public TrafficSelectorType SelectorType { get; }

    /// <summary>0 means any protocol.</summary>
    public byte IpProtocol { get; }

    public ushort StartPort { get; }

    public ushort EndPort { get; }

    public ReadOnlyMemory<byte> StartAddress { get; }

    public ReadOnlyMemory<byte> EndAddress { get; }

    /// <summary>For non-IP selector types, the bytes after the selector header (the second byte is kept as <see cref="IpProtocol"/>).</summary>
    public ReadOnlyMemory<byte> Opaque { get; }

    public bool IsIp => SelectorType is TrafficSelectorType.Ipv4AddrRange or TrafficSelectorType.Ipv6AddrRange;

    public static TrafficSelector Ip(byte ipProtocol, ushort startPort, ushort endPort, ReadOnlyMemory<byte> start, ReadOnlyMemory<byte> end)
    {
        var type = start.Length switch
        {
            4 => TrafficSelectorType.Ipv4AddrRange,
            16 => TrafficSelectorType.Ipv6AddrRange,
            _ => throw new ArgumentException("addresses must be 4 or 16 bytes", nameof(start)),
        };
        if (end.Length != start.Length)
        {
            throw new ArgumentException("start and end addresses differ in family", nameof(end));
        }

        return new TrafficSelector(type, ipProtocol, startPort, endPort, start, end, default);
    }

    public static TrafficSelector Other(TrafficSelectorType type, byte secondOctet, ReadOnlyMemory<byte> opaque) =>
        new(type, secondOctet, 0, 0, default, default, opaque);

    internal static TrafficSelector Decode(ReadOnlyMemory<byte> whole)
    {
        var r = new WireReader(whole.Span, "traffic selector");
        var type = (TrafficSelectorType)r.ReadByte();
        var proto = r.ReadByte();
        int length = r.ReadUInt16();
        switch (type)
        {
            case TrafficSelectorType.Ipv4AddrRange or TrafficSelectorType.Ipv6AddrRange:
            {
                var addrLen = type == TrafficSelectorType.Ipv4AddrRange ? 4 : 16;
                if (length != 8 + (2 * addrLen))
                {
                    r.Fail($"{type} selector length {length} must be {8 + (2 * addrLen)}");
                }

                var sp = r.ReadUInt16();
                var ep = r.ReadUInt16();
                var s = r.ReadRange(addrLen);
                var e = r.ReadRange(addrLen);
                return new TrafficSelector(type, proto, sp, ep, whole[s], whole[e], default);
            }

            default:
                return new TrafficSelector(type, proto, 0, 0, default, default, whole[r.ReadRest()]);
        }
    }

    internal void Write(ref IkeMessageWriter writer)
    {
        var start = writer.BeginLength();
        writer.WriteByte((byte)SelectorType);
        writer.WriteByte(IpProtocol);
        writer.WriteUInt16(0);
        if (IsIp)
        {
            writer.WriteUInt16(StartPort);
            writer.WriteUInt16(EndPort);
            writer.WriteBytes(StartAddress.Span);
            writer.WriteBytes(EndAddress.Span);
        }
        else
        {
            writer.WriteBytes(Opaque.Span);
        }

        writer.EndLength(start, 2);
    }
}
