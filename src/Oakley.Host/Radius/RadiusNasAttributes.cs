using System.Net;

namespace Oakley.Host.Radius;

/// <summary>
/// The attributes that describe the IKE SA to the RADIUS server, in Access-Requests and Accounting-Requests alike,
/// as strongSwan's eap-radius sends them: NAS-Port-Type Virtual, Service-Type Framed, NAS-Port (the IKE SA's unique
/// ID), NAS-Port-Id (the connection), NAS-IP-Address or NAS-IPv6-Address (our IKE address), and Called-Station-Id /
/// Calling-Station-Id as "address[port]" (our side, the peer's).
/// </summary>
internal static class RadiusNasAttributes
{
    public static void Add(RadiusPacket packet, long ikeSaId, string connection, IPEndPoint local, IPEndPoint remote)
    {
        packet.AddUInt32(RadiusAttributeType.NasPortType, RadiusNumbers.NasPortTypeVirtual);
        packet.AddUInt32(RadiusAttributeType.ServiceType, RadiusNumbers.ServiceTypeFramed);
        packet.AddUInt32(RadiusAttributeType.NasPort, unchecked((uint)ikeSaId));
        packet.AddString(RadiusAttributeType.NasPortId, connection);
        var ours = Unmapped(local.Address);
        packet.AddAddress(ours.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? RadiusAttributeType.NasIpAddress : RadiusAttributeType.NasIpv6Address, ours);
        packet.AddString(RadiusAttributeType.CalledStationId, StationId(local));
        packet.AddString(RadiusAttributeType.CallingStationId, StationId(remote));
    }

    /// <summary>strongSwan's "%#H" of a host: the address, then the port in brackets (station_id_with_port, its default).</summary>
    public static string StationId(IPEndPoint endpoint) => $"{Unmapped(endpoint.Address)}[{endpoint.Port}]";

    private static IPAddress Unmapped(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
