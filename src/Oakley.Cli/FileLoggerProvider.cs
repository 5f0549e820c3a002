using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Oakley.Cli;

/// <summary>
/// A <c>charon.filelog</c> log file: one line per message (<c>2026-01-02 15:04:05.123 info  ike: text</c>), written
/// through at once (strongSwan's flush_line), appended to or truncated at start (<c>append</c>).
/// </summary>
internal sealed class FileLoggerProvider : ILoggerProvider
{
    private readonly StreamWriter _writer;
    private readonly Lock _lock = new();
    private int _level;

    public FileLoggerProvider(string path, LogLevel level, bool append)
    {
        Path = path;
        Level = level;
        var stream = new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.ReadWrite);
        _writer = new StreamWriter(stream) { AutoFlush = true };
    }

    public string Path { get; }

    /// <summary>The file's level; reload-settings may change it while the daemon runs.</summary>
    public LogLevel Level
    {
        get => (LogLevel)Volatile.Read(ref _level);
        set => Volatile.Write(ref _level, (int)value);
    }

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    public void Dispose()
    {
        lock (_lock)
        {
            _writer.Dispose();
        }
    }

    private void Write(string category, LogLevel level, string message, Exception? exception)
    {
        var label = level switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            _ => "crit",
        };
        var line = $"{DateTime.Now.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture)} {label} {category}: {message}";
        lock (_lock)
        {
            try
            {
                _writer.WriteLine(exception is null ? line : line + Environment.NewLine + exception);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // A full disk or a log written after shutdown must not take the daemon down.
            }
        }
    }

    private sealed class FileLogger(FileLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= provider.Level;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(category, logLevel, formatter(state, exception), exception);
            }
        }
    }
}
