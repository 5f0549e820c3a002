using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Oakley.Host.Vici;

/// <summary>
/// The daemon's log lines as VICI events (README "log", "control-log"): a logger provider added to the daemon's
/// logger factory, so it sees every line the other outputs see, at the level the daemon logs at. <c>log</c> carries
/// the lines of strongSwan's levels 0 and 1 (warnings and errors, information) to every registered client;
/// <c>control-log</c> carries the lines of the IKE SA an initiate or terminate acts on to the client that runs it, up
/// to the level it asked for. Oakley logs no key or secret at any level, so nothing needs filtering here. A line is
/// formatted only when some client listens.
/// </summary>
internal sealed class ViciLog(ViciServer server) : ILoggerProvider
{
    private readonly List<Listener> _listeners = [];
    private int _listenerCount; // read without the lock on every line

    [ThreadStatic]
    private static bool t_inside;

    public ILogger CreateLogger(string categoryName) => new Logger(this, Group(categoryName));

    public void Dispose()
    {
    }

    /// <summary>strongSwan's debug groups, from Oakley's logger categories.</summary>
    internal static string Group(string category) => category switch
    {
        "ike" => "IKE",
        "oakley" => "DMN",
        "vici" => "CFG",
        "radius" => "CFG",
        "revocation" or "ipseckey" => "CFG",
        _ => "LIB",
    };

    /// <summary>strongSwan's numeric level of a .NET level (LogSetup.FromStrongSwan, the other way).</summary>
    internal static int Level(LogLevel level) => level switch
    {
        >= LogLevel.Warning => 0,
        LogLevel.Information => 1,
        LogLevel.Debug => 2,
        _ => 3,
    };

    /// <summary>
    /// Sends the lines of the IKE SA <paramref name="ikeSaId"/> (read at each line: the initiation learns its ID on the
    /// engine thread) to <paramref name="call"/> as control-log events until disposed.
    /// </summary>
    public IDisposable ControlLog(ViciCall call, Func<long> ikeSaId, int level)
    {
        var listener = new Listener(this, call, ikeSaId, level);
        lock (_listeners)
        {
            _listeners.Add(listener);
            Volatile.Write(ref _listenerCount, _listeners.Count);
        }

        return listener;
    }

    private void Write(string group, LogLevel logLevel, string message, string? ikeName, long? ikeId)
    {
        var level = Level(logLevel);
        Listener[] listeners = [];
        if (Volatile.Read(ref _listenerCount) > 0)
        {
            lock (_listeners)
            {
                listeners = [.. _listeners];
            }
        }

        if (level <= 1)
        {
            server.Raise("log", () => Message(group, level, message, ikeName, ikeId, thread: true));
        }

        foreach (var l in listeners)
        {
            if (ikeId is { } id && id == l.IkeSaId() && level <= l.Level)
            {
                l.Call.QueueEvent("control-log", Message(group, level, message, ikeName, ikeId, thread: false));
            }
        }
    }

    private static ViciSection Message(string group, int level, string message, string? ikeName, long? ikeId, bool thread)
    {
        var m = new ViciSection().Add("group", group).Add("level", level.ToString(CultureInfo.InvariantCulture));
        if (thread)
        {
            m.Add("thread", Environment.CurrentManagedThreadId.ToString(CultureInfo.InvariantCulture));
        }

        if (ikeId is { } id)
        {
            if (ikeName is not null)
            {
                m.Add("ikesa-name", ikeName);
            }

            m.Add("ikesa-uniqueid", id.ToString(CultureInfo.InvariantCulture));
        }

        return m.Add("msg", message);
    }

    /// <summary>
    /// The IKE SA a line is about: Oakley's SA lines carry it as the IkeSaName and IkeSaId fields (Name and Id in older templates) and begin with "[name|id] ",
    /// which charon's msg does not (swanctl --log prints the SA from ikesa-name and ikesa-uniqueid itself).
    /// </summary>
    internal static (string Message, string? Name, long? Id) Split(string message, object? state)
    {
        string? name = null;
        long? id = null;
        if (state is IReadOnlyList<KeyValuePair<string, object?>> fields)
        {
            foreach (var (key, value) in fields)
            {
                if (key is "IkeSaName" or "Name" && value is string s)
                {
                    name = s;
                }
                else if (key is "IkeSaId" or "Id" && value is long l)
                {
                    id = l;
                }
            }
        }

        if (id is not null)
        {
            foreach (var prefix in new[] { $"[{name}|{id}] ", $"[{id}] " })
            {
                if (message.StartsWith(prefix, StringComparison.Ordinal))
                {
                    message = message[prefix.Length..];
                    break;
                }
            }
        }

        return (message, name, id);
    }

    private bool Wanted(int level)
    {
        if (level <= 1 && server.HasListeners("log"))
        {
            return true;
        }

        return Volatile.Read(ref _listenerCount) > 0;
    }

    private sealed class Logger(ViciLog owner, string group) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && owner.Wanted(Level(logLevel));

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (t_inside || !IsEnabled(logLevel))
            {
                return;
            }

            // A line the VICI server logs while raising a line (a dropped client) is not raised again.
            t_inside = true;
            try
            {
                var (message, name, id) = Split(formatter(state, exception), state);
                owner.Write(group, logLevel, message, name, id);
            }
            finally
            {
                t_inside = false;
            }
        }
    }

    private sealed class Listener(ViciLog owner, ViciCall call, Func<long> ikeSaId, int level) : IDisposable
    {
        public ViciCall Call => call;

        public Func<long> IkeSaId => ikeSaId;

        public int Level => level;

        public void Dispose()
        {
            lock (owner._listeners)
            {
                owner._listeners.Remove(this);
                Volatile.Write(ref owner._listenerCount, owner._listeners.Count);
            }
        }
    }
}
