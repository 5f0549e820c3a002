using System.Net.Sockets;

namespace Oakley.Host;

/// <summary>
/// Tells whether another Oakley is alive in this network namespace: each daemon holds an abstract Unix socket
/// name (abstract names belong to the network namespace, and the kernel frees them when the process ends, even
/// on SIGKILL). Rules and routes marked as Oakley's are stale only when nobody holds the name.
/// </summary>
internal sealed class NamespaceLock : IDisposable
{
    private const string Name = "\0oakley-daemon";
    private Socket? _socket;

    /// <summary>Takes the name; false if another live Oakley in this network namespace holds it.</summary>
    public bool TryAcquire()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(Name));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            return false;
        }

        _socket = socket;
        return true;
    }

    /// <summary>Whether this daemon holds the name (what carries Oakley's marks in this namespace is its own).</summary>
    public bool Held => _socket is not null;

    public void Dispose() => _socket?.Dispose();
}
