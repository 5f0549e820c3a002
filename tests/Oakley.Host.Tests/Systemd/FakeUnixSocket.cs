using System.Net.Sockets;
using Oakley.Host.Systemd;

namespace Oakley.Host.Tests.Systemd;

/// <summary>A stand-in for systemd's notification socket or journald's socket: a bound AF_UNIX datagram socket.</summary>
internal sealed class FakeUnixSocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    /// <param name="address">A path, or <c>@name</c> for the abstract namespace.</param>
    public FakeUnixSocket(string address)
    {
        Address = address;
        _socket.Bind(new UnixDomainSocketEndPoint(address.StartsWith('@') ? "\0" + address[1..] : address));
    }

    public string Address { get; }

    /// <summary>The next datagram's raw bytes, or null when none comes within <paramref name="timeout"/>.</summary>
    public byte[]? ReceiveRaw(TimeSpan timeout)
    {
        if (!_socket.Poll(timeout, SelectMode.SelectRead))
        {
            return null;
        }

        var buffer = new byte[1 << 16];
        var n = _socket.Receive(buffer);
        return buffer[..n];
    }

    /// <summary>The next datagram's fields (<see cref="JournalEntry.Parse"/>), or null when none comes in time.</summary>
    public Dictionary<string, string>? Receive(TimeSpan timeout)
    {
        if (ReceiveRaw(timeout) is not { } bytes)
        {
            return null;
        }

        var fields = JournalEntry.Parse(bytes);
        Assert.NotNull(fields);
        return fields.GroupBy(f => f.Key).ToDictionary(g => g.Key, g => g.Last().Value);
    }

    /// <summary>Datagrams until one has <paramref name="key"/> (that one is returned), skipping others; bounded by <paramref name="timeout"/>.</summary>
    public Dictionary<string, string>? ReceiveUntil(string key, TimeSpan timeout, List<Dictionary<string, string>>? skipped = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Receive(deadline - DateTime.UtcNow) is not { } fields)
            {
                return null;
            }

            if (fields.ContainsKey(key))
            {
                return fields;
            }

            skipped?.Add(fields);
        }

        return null;
    }

    public void Dispose() => _socket.Dispose();
}
