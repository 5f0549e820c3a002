using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Oakley.Host.Tests.Vici;

/// <summary>
/// A small VICI client written from the README alone, with its own encoder and decoder (none of the daemon's
/// classes), so that a bug shared by the daemon's encoder and decoder cannot hide. Messages are nested dictionaries:
/// a value is a string, a list is a List&lt;string&gt;, a section is a Dictionary.
/// </summary>
internal sealed class TestViciClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private TestViciClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public static async Task<TestViciClient> ConnectAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return new TestViciClient(socket);
    }

    /// <summary>Events received while waiting for responses, in order.</summary>
    public List<(string Name, Dictionary<string, object> Message)> Events { get; } = [];

    public async Task SendRawAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    /// <summary>Sends a request and returns its response (null: CMD_UNKNOWN); events that arrive meanwhile are collected.</summary>
    public async Task<Dictionary<string, object>?> RequestAsync(string command, params (string Key, string Value)[] args)
    {
        var body = new List<byte>();
        foreach (var (k, v) in args)
        {
            body.Add(3);
            Name(body, k);
            Blob(body, v);
        }

        await SendAsync(0, command, body);
        while (true)
        {
            var (type, name, message) = await ReadAsync(TimeSpan.FromSeconds(30));
            switch (type)
            {
                case 1:
                    return message;
                case 2:
                    return null;
                case 7:
                    Events.Add((name!, message!));
                    break;
                default:
                    throw new InvalidOperationException($"unexpected packet type {type}");
            }
        }
    }

    /// <summary>Registers for an event: true on EVENT_CONFIRM, false on EVENT_UNKNOWN.</summary>
    public async Task<bool> RegisterAsync(string name)
    {
        await SendAsync(3, name, []);
        while (true)
        {
            // events of earlier registrations may arrive before the confirmation
            var (type, eventName, message) = await ReadAsync(TimeSpan.FromSeconds(10));
            switch (type)
            {
                case 5:
                    return true;
                case 6:
                    return false;
                case 7:
                    Events.Add((eventName!, message!));
                    break;
                default:
                    throw new InvalidOperationException($"unexpected packet type {type}");
            }
        }
    }

    /// <summary>Waits for the next event (or returns one already collected).</summary>
    public async Task<(string Name, Dictionary<string, object> Message)> NextEventAsync(TimeSpan timeout)
    {
        if (Events.Count > 0)
        {
            var e = Events[0];
            Events.RemoveAt(0);
            return e;
        }

        var (type, name, message) = await ReadAsync(timeout);
        return type == 7 ? (name!, message!) : throw new InvalidOperationException($"expected an event, got packet type {type}");
    }

    /// <summary>Whether the server closed the connection (reads until end of stream, bounded).</summary>
    public async Task<bool> ClosedByServerAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (await _stream.ReadAsync(buffer, cancel.Token) > 0)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private async Task SendAsync(byte type, string name, List<byte> body)
    {
        var packet = new List<byte> { type };
        Name(packet, name);
        packet.AddRange(body);
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)packet.Count);
        await _stream.WriteAsync(header.Concat(packet).ToArray());
    }

    private async Task<(int Type, string? Name, Dictionary<string, object>? Message)> ReadAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var header = new byte[4];
        await _stream.ReadExactlyAsync(header, cancel.Token);
        var data = new byte[BinaryPrimitives.ReadUInt32BigEndian(header)];
        await _stream.ReadExactlyAsync(data, cancel.Token);
        var type = data[0];
        var pos = 1;
        string? name = null;
        if (type is 0 or 3 or 4 or 7)
        {
            name = Encoding.ASCII.GetString(data, 2, data[1]);
            pos = 2 + data[1];
        }

        return (type, name, type is 0 or 1 or 7 ? Parse(data, ref pos) : null);
    }

    /// <summary>Parses elements until a SECTION_END (consumed) or the end of the data.</summary>
    private static Dictionary<string, object> Parse(byte[] d, ref int pos)
    {
        var section = new Dictionary<string, object>();
        while (pos < d.Length)
        {
            var type = d[pos++];
            switch (type)
            {
                case 1:
                    var s = ReadName(d, ref pos);
                    section[s] = Parse(d, ref pos);
                    break;
                case 2:
                    return section;
                case 3:
                    var k = ReadName(d, ref pos);
                    section[k] = ReadBlob(d, ref pos);
                    break;
                case 4:
                    var l = ReadName(d, ref pos);
                    var items = new List<string>();
                    while (d[pos] == 5)
                    {
                        pos++;
                        items.Add(ReadBlob(d, ref pos));
                    }

                    pos++; // LIST_END
                    section[l] = items;
                    break;
                default:
                    throw new InvalidOperationException($"element type {type}");
            }
        }

        return section;
    }

    private static string ReadName(byte[] d, ref int pos)
    {
        var n = Encoding.ASCII.GetString(d, pos + 1, d[pos]);
        pos += 1 + d[pos];
        return n;
    }

    private static string ReadBlob(byte[] d, ref int pos)
    {
        var length = (d[pos] << 8) | d[pos + 1];
        var v = Encoding.UTF8.GetString(d, pos + 2, length);
        pos += 2 + length;
        return v;
    }

    private static void Name(List<byte> b, string name)
    {
        b.Add((byte)name.Length);
        b.AddRange(Encoding.ASCII.GetBytes(name));
    }

    private static void Blob(List<byte> b, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        b.Add((byte)(bytes.Length >> 8));
        b.Add((byte)bytes.Length);
        b.AddRange(bytes);
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
