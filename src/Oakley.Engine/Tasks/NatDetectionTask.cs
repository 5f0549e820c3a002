using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tasks;

/// <summary>
/// NAT detection (RFC 7296 §2.23) in IKE_SA_INIT: NAT_DETECTION_SOURCE_IP and _DESTINATION_IP in both directions, the
/// comparison that says which side is behind a NAT, and the initiator's float to the NAT-T port (also with MOBIKE,
/// RFC 4555 §3.3). The keepalives a side behind a NAT sends are a deadline of the SA (<c>KeepAliveDue</c>). MOBIKE
/// reuses the hashes and the comparison for its address updates.
/// </summary>
internal sealed class NatDetectionTask(IkeSa sa) : IInitiatorTask, IResponderTask
{
    public ExchangeType Exchange => ExchangeType.IkeSaInit;

    public TaskOutcome BuildRequest(DateTimeOffset now, List<IkePayload> request)
    {
        Insert(request, Notifies(sa, sa.SpiI, 0));
        return TaskOutcome.Done;
    }

    public TaskOutcome ProcessResponse(DateTimeOffset now, Received response)
    {
        Detect(now, response.Message);
        var settings = sa.Services.Settings;
        if ((sa.NatDetected || sa.Config.Mobike) && sa.Remote.Port != settings.NattPort)
        {
            // RFC 7296 §2.23: with a NAT in the path the initiator moves to port 4500 for IKE_AUTH onwards;
            // RFC 4555 §3.3: so does an initiator that offers MOBIKE, NAT or not (a later move may meet one).
            sa.Path.Local = new IPEndPoint(sa.Local.Address, settings.NattPort);
            sa.Path.Remote = new IPEndPoint(sa.Remote.Address, settings.NattPort);
        }

        return TaskOutcome.Done;
    }

    public TaskOutcome ProcessRequest(DateTimeOffset now, Received request)
    {
        Detect(now, request.Message);
        return TaskOutcome.Done;
    }

    public void BuildResponse(DateTimeOffset now, List<IkePayload> response) => Insert(response, Notifies(sa, sa.SpiI, sa.SpiR));

    /// <summary>The notifies follow the nonce, as in every IKE_SA_INIT we have sent (and strongSwan's order).</summary>
    private static void Insert(List<IkePayload> message, List<NotifyPayload> notifies) =>
        message.InsertRange(message.FindIndex(p => p is NoncePayload) + 1, notifies);

    /// <summary>Our NAT_DETECTION_* pair for the SA's current path; with <c>encap = yes</c> a source hash that cannot match.</summary>
    internal static List<NotifyPayload> Notifies(IkeSa sa, ulong spiI, ulong spiR) =>
        Pair(sa, spiI, spiR, sa.Config.ForceEncapsulation ? null : sa.Local);

    /// <summary>
    /// NAT_DETECTION_SOURCE_IP for <paramref name="source"/> and NAT_DETECTION_DESTINATION_IP for the peer. Without a
    /// source (encap = yes, or no address known), a random source hash that cannot match makes the peer see us behind
    /// a NAT (RFC 7296 §2.23).
    /// </summary>
    internal static List<NotifyPayload> Pair(IkeSa sa, ulong spiI, ulong spiR, IPEndPoint? source)
    {
        byte[] sourceHash;
        if (source is null)
        {
            sourceHash = new byte[20];
            sa.Services.Entropy.Fill(sourceHash);
        }
        else
        {
            sourceHash = Hash(spiI, spiR, source);
        }

        return [new NotifyPayload(NotifyType.NatDetectionSourceIp, sourceHash), new NotifyPayload(NotifyType.NatDetectionDestinationIp, Hash(spiI, spiR, sa.Remote))];
    }

    /// <summary>
    /// Compares the peer's NAT_DETECTION_* notifies with hashes of the addresses we see. A peer that fakes them
    /// (strongSwan's encap = yes, or kernel-libipsec) is treated as being behind a NAT.
    /// </summary>
    private void Detect(DateTimeOffset now, IkeMessage m)
    {
        var path = sa.Path;
        path.NatDetected |= sa.Config.ForceEncapsulation; // encap = yes: both sides treat the path as NATed
        var source = m.Notifies(NotifyType.NatDetectionSourceIp).ToList();
        var destination = m.Notifies(NotifyType.NatDetectionDestinationIp).FirstOrDefault();
        if (source.Count == 0 || destination is null)
        {
            return;
        }

        var (peerBehindNat, weBehindNat) = Compare(source, destination, sa.SpiI, m.ResponderSpi, sa.Local, sa.Remote, path.PathSource);
        path.LocalBehindNat = weBehindNat;
        path.RemoteBehindNat = peerBehindNat;
        if (peerBehindNat || weBehindNat)
        {
            path.NatDetected = true;
            sa.Services.EmitAlert(now, sa.Id, weBehindNat ? "local host is behind NAT, sending keep alives" : "remote host is behind NAT");
        }
    }

    /// <summary>RFC 7296 §2.23: SHA-1(SPIi | SPIr | IP | port).</summary>
    internal static byte[] Hash(ulong spiI, ulong spiR, IPEndPoint ep)
    {
        Span<byte> data = stackalloc byte[16 + 16 + 2];
        BinaryPrimitives.WriteUInt64BigEndian(data, spiI);
        BinaryPrimitives.WriteUInt64BigEndian(data[8..], spiR);
        if (!ep.Address.TryWriteBytes(data[16..], out var length))
        {
            throw new ArgumentException("not an IPv4 or IPv6 address", nameof(ep));
        }

        BinaryPrimitives.WriteUInt16BigEndian(data[(16 + length)..], (ushort)ep.Port);
        return SHA1.HashData(data[..(16 + length + 2)]);
    }

    /// <summary>
    /// The peer is behind a NAT if no NAT_DETECTION_SOURCE_IP matches the address it came from, we are if its
    /// NAT_DETECTION_DESTINATION_IP does not match ours. A wildcard local address (no source known) is never called NATed.
    /// </summary>
    internal static (bool PeerBehindNat, bool WeBehindNat) Compare(List<NotifyPayload> source, NotifyPayload destination,
        ulong spiI, ulong spiR, IPEndPoint local, IPEndPoint remote, IPAddress? knownSource)
    {
        var peerSeen = Hash(spiI, spiR, remote);
        var peerBehindNat = !source.Any(n => n.Data.Span.SequenceEqual(peerSeen));
        var ourAddress = PeerPath.IsWildcard(local.Address) ? knownSource : local.Address;
        var weBehindNat = ourAddress is not null
            && !destination.Data.Span.SequenceEqual(Hash(spiI, spiR, new IPEndPoint(ourAddress, local.Port)));
        return (peerBehindNat, weBehindNat);
    }
}
