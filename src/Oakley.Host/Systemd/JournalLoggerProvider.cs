using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Oakley.Host.Systemd;

/// <summary>
/// Logs to journald over its native protocol (<see cref="JournalEntry"/>), one datagram per line, with the fields an
/// operator filters on: MESSAGE, PRIORITY (syslog's numbers), SYSLOG_IDENTIFIER=oakley, OAKLEY_LOGGER (the category),
/// and, taken from the structured state of the line and of its scopes (never parsed out of the text):
/// IKE_SA_NAME, IKE_SA_UNIQUE_ID and PEER_ADDRESS/PEER_PORT from the properties <c>IkeSaName</c>, <c>IkeSaId</c>
/// and <c>Peer</c> (<see cref="IkeSaLogScope"/>), and every other property of the message template as
/// <c>OAKLEY_&lt;NAME&gt;</c> (<c>{Child}</c> as OAKLEY_CHILD), formatted as the template formats it. Templates
/// never carry secrets, so neither do the fields. A line the socket does not take (journald restarting, a datagram
/// too large) goes to standard error with its <c>&lt;N&gt;</c> priority prefix, which the journal's stream reads.
/// </summary>
public sealed class JournalLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    public const string Identifier = "oakley";

    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _journal;
    private readonly TextWriter _fallback;
    private readonly Lock _fallbackLock = new();
    private IExternalScopeProvider? _scopes;

    /// <param name="socketPath">journald's socket (<see cref="JournalStream.SocketPath"/>; tests pass their own).</param>
    /// <param name="fallback">Where a line goes that the socket refused (standard error).</param>
    public JournalLoggerProvider(string socketPath, TextWriter fallback)
    {
        _journal = new UnixDomainSocketEndPoint(socketPath);
        _fallback = fallback;
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>Lines that went to the fallback writer because the journal did not take them.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    private long _refused;

    public ILogger CreateLogger(string categoryName) => new JournalLogger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    /// <summary>syslog's priority of a level (journald's PRIORITY field).</summary>
    public static int Priority(LogLevel level) => level switch
    {
        LogLevel.Critical => 2,
        LogLevel.Error => 3,
        LogLevel.Warning => 4,
        LogLevel.Information => 6,
        _ => 7,
    };

    /// <summary>
    /// The entry of one log line: the fixed fields, then the line's own properties, then those of its scopes
    /// (innermost first); a field already set is not repeated.
    /// </summary>
    internal static JournalEntry Build<TState>(string category, LogLevel level, TState state, string message, Exception? exception, IExternalScopeProvider? scopes)
    {
        var entry = new JournalEntry();
        entry.Add("MESSAGE", message);
        entry.Add("PRIORITY", Priority(level).ToString(CultureInfo.InvariantCulture));
        entry.Add("SYSLOG_IDENTIFIER", Identifier);
        entry.Add("OAKLEY_LOGGER", category);
        if (exception is not null)
        {
            entry.Add("OAKLEY_EXCEPTION", exception.ToString());
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (state is IReadOnlyList<KeyValuePair<string, object?>> properties)
        {
            AddProperties(entry, seen, properties);
        }

        scopes?.ForEachScope(static (scope, context) =>
        {
            if (scope is IReadOnlyList<KeyValuePair<string, object?>> properties)
            {
                AddProperties(context.Entry, context.Seen, properties);
            }
        }, (Entry: entry, Seen: seen));
        return entry;
    }

    private static void AddProperties(JournalEntry entry, HashSet<string> seen, IReadOnlyList<KeyValuePair<string, object?>> properties)
    {
        var template = properties.Count > 0 && properties[^1].Key == "{OriginalFormat}" ? properties[^1].Value as string : null;
        foreach (var (key, value) in properties)
        {
            if (value is null || key == "{OriginalFormat}" || !seen.Add(key))
            {
                continue;
            }

            switch (key)
            {
                case IkeSaLogScope.NameKey:
                    entry.Add("IKE_SA_NAME", Format(value, null));
                    break;
                case IkeSaLogScope.IdKey:
                    entry.Add("IKE_SA_UNIQUE_ID", Format(value, null));
                    break;
                case IkeSaLogScope.PeerKey:
                    AddPeer(entry, value);
                    break;
                default:
                    // The source generator keys a property by its parameter's name, '@in' for a keyword.
                    var name = key.TrimStart('@');
                    entry.Add(JournalEntry.FieldName("OAKLEY_", name), Format(value, template is null ? null : FormatOf(template, name)));
                    break;
            }
        }
    }

    private static void AddPeer(JournalEntry entry, object value)
    {
        switch (value)
        {
            case IPEndPoint endpoint:
                entry.Add("PEER_ADDRESS", endpoint.Address.ToString());
                entry.Add("PEER_PORT", endpoint.Port.ToString(CultureInfo.InvariantCulture));
                break;
            default:
                entry.Add("PEER_ADDRESS", Format(value, null));
                break;
        }
    }

    private static string Format(object value, string? format) => value switch
    {
        IFormattable f => f.ToString(format, CultureInfo.InvariantCulture),
        System.Collections.IEnumerable list and not string => string.Join(", ", list.Cast<object?>()),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>The format of <c>{key:format}</c> in a message template (<c>x8</c> for SPIs), or null; the name's case does not matter, as for the generator.</summary>
    internal static string? FormatOf(string template, string key)
    {
        var at = template.IndexOf("{" + key + ":", StringComparison.OrdinalIgnoreCase);
        if (at < 0)
        {
            return null;
        }

        var start = at + key.Length + 2;
        var end = template.IndexOf('}', start);
        return end < 0 ? null : template[start..end];
    }

    /// <summary>Sends an entry to journald; a refused one is written to the fallback as <c>&lt;N&gt;message</c>.</summary>
    internal void Write(JournalEntry entry, LogLevel level, string message)
    {
        try
        {
            if (_socket.SendTo(entry.Datagram.Span, SocketFlags.None, _journal) == entry.Datagram.Length)
            {
                return;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // journald not running (restart), or the datagram is larger than the socket takes: the stream instead
        }

        Interlocked.Increment(ref _refused);
        lock (_fallbackLock)
        {
            foreach (var line in message.Split('\n'))
            {
                _fallback.WriteLine($"<{Priority(level)}>{line}");
            }

            _fallback.Flush();
        }
    }

    public void Dispose() => _socket.Dispose();

    private sealed class JournalLogger(JournalLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var message = formatter(state, exception);
            provider.Write(Build(category, logLevel, state, message, exception, provider._scopes), logLevel, message);
        }
    }
}
