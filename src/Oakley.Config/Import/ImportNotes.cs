namespace Oakley.Config.Import;

/// <summary>Something the converter could not carry over, or did differently, with where it came from.</summary>
public sealed record ImportNote(SourceLocation Location, string Message)
{
    public override string ToString() => Location.Line == 0 ? $"{Location.File}: {Message}" : $"{Location.File}:{Location.Line}: {Message}";
}

/// <summary>The notes of one run, in the order the converter met them, each reported once.</summary>
public sealed class ImportNotes
{
    private readonly List<ImportNote> _notes = [];
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    public IReadOnlyList<ImportNote> All => _notes;

    public void Add(SourceLocation location, string message)
    {
        var note = new ImportNote(location, message);
        if (_seen.Add(note.ToString()))
        {
            _notes.Add(note);
        }
    }
}
