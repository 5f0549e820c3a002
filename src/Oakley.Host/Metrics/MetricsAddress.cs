using System.Globalization;
using System.Net;

namespace Oakley.Host.Metrics;

/// <summary>
/// The value of <c>--metrics</c>: an IP address and a port, as a scrape target is written (<c>127.0.0.1:9101</c>,
/// <c>[2001:db8::1]:9101</c>, <c>0.0.0.0:9101</c> or <c>[::]:9101</c> for every address). A host name is refused: the
/// endpoint binds exactly one address, and the metrics reveal the tunnels, so the operator names which one.
/// </summary>
public static class MetricsAddress
{
    public const string Example = "e.g. 127.0.0.1:9101 or [::1]:9101";

    /// <summary>The endpoint, or null with the reason in <paramref name="error"/> (which names the option).</summary>
    public static IPEndPoint? Parse(string? text, out string? error)
    {
        error = null;
        var value = text?.Trim() ?? string.Empty;
        string host, port;
        if (value.StartsWith('['))
        {
            var close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= value.Length || value[close + 1] != ':')
            {
                return Fail($"--metrics '{text}': an IPv6 address needs its port after the brackets ({Example})", out error);
            }

            host = value[1..close];
            port = value[(close + 2)..];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                return Fail($"--metrics '{text}': '{host}' is not an IPv6 address ({Example})", out error);
            }
        }
        else
        {
            var colon = value.LastIndexOf(':');
            if (colon <= 0 || value.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                return Fail(value.Count(c => c == ':') > 1
                    ? $"--metrics '{text}': write an IPv6 address in brackets ({Example})"
                    : $"--metrics '{text}' is not ADDRESS:PORT ({Example})", out error);
            }

            host = value[..colon];
            port = value[(colon + 1)..];
            if (!IPAddress.TryParse(host, out var v4) || v4.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || host.Count(c => c == '.') != 3)
            {
                return Fail($"--metrics '{text}': '{host}' is not an IP address ({Example})", out error);
            }
        }

        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
        {
            return Fail($"--metrics '{text}': '{port}' is not a port (1-65535)", out error);
        }

        return new IPEndPoint(IPAddress.Parse(host), p);
    }

    private static IPEndPoint? Fail(string message, out string? error)
    {
        error = message;
        return null;
    }
}
