using System.Buffers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Oakley.Cli;

/// <summary>
/// <c>oakley list-sas</c>: the daemon streams the listing (<c>{"ok":true,"ike-sas":[</c>, the SAs a page at a time,
/// <c>]}</c>), and so does this client: each IKE SA is printed as soon as it has arrived and then dropped, so that a
/// listing of 100,000 SAs starts at once and holds one SA in memory, not all of them. The output is the same as for
/// the other verbs (<see cref="ControlClient"/>): swanctl's text, or the response indented as JSON.
/// </summary>
internal static class ListingClient
{
    private static readonly byte[] Prefix = "{\"ok\":true,\"ike-sas\":["u8.ToArray();

    public static async Task<int> RunAsync(string controlPath, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Input input;
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(controlPath), cancel).ConfigureAwait(false);
            input = new Input(new NetworkStream(socket, ownsSocket: false));
            await socket.SendAsync("{\"cmd\":\"list-sas\"}\n"u8.ToArray(), cancel).ConfigureAwait(false);
            await input.FillAsync(Prefix.Length, cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            await stderr.WriteLineAsync($"oakley: {ControlClient.Unreachable(controlPath, e)}").ConfigureAwait(false);
            return 2;
        }

        if (!input.Data.Span.StartsWith(Prefix))
        {
            return await OtherResponseAsync(input, json, stdout, stderr, cancel).ConfigureAwait(false);
        }

        input.Consume(Prefix.Length);
        var output = new Output(json, stdout);
        try
        {
            while (await NextAsync(input, cancel).ConfigureAwait(false) is { } sa)
            {
                output.Add(sa);
            }
        }
        catch (Exception e) when (e is IOException or JsonException or SocketException)
        {
            output.Flush();
            await stderr.WriteLineAsync($"oakley: the listing broke off after {output.Count} IKE SAs: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        output.End(await TrailerAsync(input, cancel).ConfigureAwait(false));
        return 0;
    }

    /// <summary>What follows the array: <c>,"last-failures":[...]}</c> (each connection's last failure), or just <c>}</c>.</summary>
    private static async Task<JsonArray?> TrailerAsync(Input input, CancellationToken cancel)
    {
        while (!input.Data.Span.Contains((byte)'\n') && await input.FillAsync(input.Data.Length + 1, cancel).ConfigureAwait(false))
        {
        }

        var rest = Encoding.UTF8.GetString(input.Data.Span).Trim().TrimStart(',');
        try
        {
            return JsonNode.Parse("{" + rest)?["last-failures"]?.AsArray();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Not a listing (an error, or a daemon that does not stream): one JSON line, handled like any response.</summary>
    private static async Task<int> OtherResponseAsync(Input input, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        while (!input.Data.Span.Contains((byte)'\n') && await input.FillAsync(input.Data.Length + 1, cancel).ConfigureAwait(false))
        {
        }

        try
        {
            return ControlClient.Print("list-sas", JsonNode.Parse(input.Data.Span)!.AsObject(), json, stdout, stderr);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            await stderr.WriteLineAsync($"oakley: the daemon's answer to list-sas is not a JSON object: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>The next IKE SA of the array, or null at its end.</summary>
    private static async Task<JsonNode?> NextAsync(Input input, CancellationToken cancel)
    {
        while (true)
        {
            var data = input.Data.Span;
            var skip = 0;
            while (skip < data.Length && data[skip] is (byte)',' or (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
            {
                skip++;
            }

            if (skip < data.Length && data[skip] == (byte)']')
            {
                input.Consume(skip + 1);
                return null;
            }

            if (skip < data.Length && Element(data[skip..]) is var length and > 0)
            {
                var sa = JsonNode.Parse(data.Slice(skip, length));
                input.Consume(skip + length);
                return sa;
            }

            if (!await input.FillAsync(input.Data.Length + 1, cancel).ConfigureAwait(false))
            {
                throw new IOException("the daemon closed the connection in the middle of the listing");
            }
        }
    }

    /// <summary>The length of the JSON value at the start of <paramref name="data"/>, or 0 if it has not all arrived.</summary>
    private static int Element(ReadOnlySpan<byte> data)
    {
        var reader = new Utf8JsonReader(data, isFinalBlock: false, state: default);
        return reader.Read() && reader.TrySkip() ? (int)reader.BytesConsumed : 0;
    }

    /// <summary>What has been read off the socket and not yet consumed.</summary>
    private sealed class Input(Stream stream)
    {
        private byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        public ReadOnlyMemory<byte> Data => _buffer.AsMemory(_start, _end - _start);

        public void Consume(int count) => _start += count;

        /// <summary>Reads until at least <paramref name="count"/> bytes are unconsumed; false at the end of the stream.</summary>
        public async Task<bool> FillAsync(int count, CancellationToken cancel)
        {
            while (_end - _start < count)
            {
                if (_start > 0)
                {
                    _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                    (_end, _start) = (_end - _start, 0);
                }

                if (_end == _buffer.Length || count > _buffer.Length)
                {
                    Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, count));
                }

                var n = await stream.ReadAsync(_buffer.AsMemory(_end), cancel).ConfigureAwait(false);
                if (n == 0)
                {
                    return false;
                }

                _end += n;
            }

            return true;
        }
    }

    /// <summary>The listing as it is printed: text per SA, or the indented JSON response written as it goes.</summary>
    private sealed class Output
    {
        private static readonly JsonWriterOptions Indented = new() { Indented = true };
        private readonly TextWriter _stdout;
        private readonly ArrayBufferWriter<byte>? _buffer;
        private readonly Utf8JsonWriter? _json;
        private readonly StringBuilder _text = new();

        public Output(bool json, TextWriter stdout)
        {
            _stdout = stdout;
            if (json)
            {
                _buffer = new ArrayBufferWriter<byte>(64 * 1024);
                _json = new Utf8JsonWriter(_buffer, Indented);
                _json.WriteStartObject();
                _json.WriteBoolean("ok", true);
                _json.WriteStartArray("ike-sas");
            }
        }

        public int Count { get; private set; }

        public void Add(JsonNode? sa)
        {
            Count++;
            if (_json is not null)
            {
                if (sa is null)
                {
                    _json.WriteNullValue();
                }
                else
                {
                    sa.WriteTo(_json);
                }

                if (_json.BytesPending > 32 * 1024)
                {
                    Flush();
                }

                return;
            }

            TextFormat.IkeSa(_text, sa!);
            _stdout.Write(_text.ToString());
            _text.Clear();
        }

        public void End(JsonArray? failures)
        {
            if (_json is not null)
            {
                _json.WriteEndArray();
                if (failures is not null)
                {
                    _json.WritePropertyName("last-failures");
                    failures.WriteTo(_json);
                }

                _json.WriteEndObject();
                Flush();
                _stdout.WriteLine();
                return;
            }

            if (Count == 0)
            {
                _stdout.WriteLine("no IKE SAs");
            }

            foreach (var f in failures ?? [])
            {
                _stdout.WriteLine($"last failure of {f!["connection"]} at {f["time"]}: {f["reason"]}");
            }
        }

        public void Flush()
        {
            if (_json is null || _buffer is null)
            {
                _stdout.Flush();
                return;
            }

            _json.Flush();
            _stdout.Write(Encoding.UTF8.GetString(_buffer.WrittenSpan));
            _buffer.ResetWrittenCount();
            _stdout.Flush();
        }
    }
}
