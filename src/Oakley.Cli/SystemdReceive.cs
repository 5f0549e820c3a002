using System.CommandLine;
using System.Net.Sockets;
using Oakley.Host.Systemd;

namespace Oakley.Cli;

/// <summary>
/// <c>oakley systemd-receive</c> (hidden, tests only): stands in for systemd's notification socket or journald's
/// socket. Binds an AF_UNIX datagram socket (a path, or with <c>--abstract</c> a name in the abstract namespace), and prints each
/// datagram it receives as its fields, one <c>NAME=value</c> line each (newlines in a value as <c>\n</c>), followed by
/// a line <c>--</c>; a datagram that is not in the format prints <c>MALFORMED</c>. Ends after <c>count</c> datagrams
/// or <c>seconds</c>, whichever comes first. A clean Debian has no socat or python for this.
/// </summary>
internal static class SystemdReceive
{
    /// <summary>The hidden verb and its options.</summary>
    public static Command Command()
    {
        var receive = new Command("systemd-receive", "print the datagrams an AF_UNIX datagram socket receives (tests only)") { Hidden = true };
        var socket = new Option<string>("--socket") { Description = "socket path (or name, with --abstract)", Required = true };
        var @abstract = new Option<bool>("--abstract") { Description = "the name is in the abstract namespace (NOTIFY_SOCKET=@name; the command line would read @name as a response file)" };
        var count = new Option<int>("--count") { Description = "stop after this many datagrams", DefaultValueFactory = _ => 1000 };
        var seconds = new Option<double>("--seconds") { Description = "stop after this long", DefaultValueFactory = _ => 60 };
        receive.Options.Add(socket);
        receive.Options.Add(count);
        receive.Options.Add(seconds);
        receive.Options.Add(@abstract);
        receive.SetAction(pr => Run((pr.GetValue(@abstract) ? "@" : string.Empty) + pr.GetValue(socket)!, pr.GetValue(count), TimeSpan.FromSeconds(pr.GetValue(seconds)), Console.Out));
        return receive;
    }

    public static int Run(string address, int count, TimeSpan duration, TextWriter output)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        var path = address.StartsWith('@') ? "\0" + address[1..] : address;
        if (!address.StartsWith('@') && File.Exists(path))
        {
            File.Delete(path);
        }

        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.ReceiveBufferSize = 1 << 20;
        output.WriteLine($"listening on {address}");
        output.Flush();
        var buffer = new byte[1 << 20];
        var deadline = DateTime.UtcNow + duration;
        var received = 0;
        while (received < count && DateTime.UtcNow < deadline)
        {
            if (!socket.Poll(TimeSpan.FromMilliseconds(200), SelectMode.SelectRead))
            {
                continue;
            }

            var n = socket.Receive(buffer);
            received++;
            var fields = JournalEntry.Parse(buffer.AsSpan(0, n));
            if (fields is null)
            {
                output.WriteLine("MALFORMED");
            }
            else
            {
                foreach (var (name, value) in fields)
                {
                    output.WriteLine($"{name}={value.Replace("\n", "\\n", StringComparison.Ordinal)}");
                }
            }

            output.WriteLine("--");
            output.Flush();
        }

        if (!address.StartsWith('@'))
        {
            File.Delete(path);
        }

        return 0;
    }
}
