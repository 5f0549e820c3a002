namespace Oakley.Host.Vici;

/// <summary>
/// One VICI command handler: the request message in, the response message out. A handler that streams (list-sas
/// raises one <c>list-sa</c> event per IKE SA) emits its events through <see cref="ViciCall.EmitAsync"/> before it
/// returns the response. A request the handler refuses is answered, as charon does, with <c>success = no</c> and
/// <c>errmsg</c> (<see cref="ViciCommands.Failure"/>), never by throwing to the connection.
/// </summary>
internal delegate Task<ViciSection> ViciCommand(ViciSection request, ViciCall call);

/// <summary>What a command handler may do on the connection it runs for.</summary>
internal abstract class ViciCall
{
    /// <summary>Sends the event to this connection if it registered for <paramref name="name"/> (else does nothing).</summary>
    public abstract Task EmitAsync(string name, ViciSection message);

    /// <summary>Whether this connection registered for <paramref name="name"/>.</summary>
    public abstract bool IsRegistered(string name);

    /// <summary>Ends when the client goes away.</summary>
    public abstract CancellationToken Aborted { get; }

    /// <summary>
    /// Queues the event for this connection if it registered for <paramref name="name"/>, without waiting (for
    /// callers that must not block, such as the log lines of <c>control-log</c> raised on other threads).
    /// </summary>
    public abstract void QueueEvent(string name, ViciSection message);
}

/// <summary>The daemon's VICI commands by name (an unknown name is answered with CMD_UNKNOWN).</summary>
internal sealed class ViciCommands
{
    private readonly Dictionary<string, ViciCommand> _commands = new(StringComparer.Ordinal);

    public void Add(string name, ViciCommand command) => _commands.Add(name, command);

    public ViciCommand? Find(string name) => _commands.GetValueOrDefault(name);

    public IEnumerable<string> Names => _commands.Keys;

    /// <summary><c>success = yes</c>.</summary>
    public static ViciSection Success() => new ViciSection().Add("success", "yes");

    /// <summary><c>success = no</c>, <c>errmsg = ...</c>: how charon refuses a request.</summary>
    public static ViciSection Failure(string message) => new ViciSection().Add("success", "no").Add("errmsg", message);
}
