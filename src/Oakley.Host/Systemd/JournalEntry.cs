using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Oakley.Host.Systemd;

/// <summary>
/// One entry of journald's native protocol (systemd's "Native Journal Protocol" document): a datagram of fields, each
/// <c>NAME=value\n</c>, or, for a value that holds a newline (or any byte the simple form cannot carry), <c>NAME\n</c>,
/// the value's length as a 64-bit little-endian integer, the value, and <c>\n</c>. Field names are upper-case
/// letters, digits and underscores, do not start with an underscore or a digit (those are journald's trusted fields)
/// and have at most 64 characters; a name that is not valid is left out rather than rejected with the whole entry.
/// </summary>
public sealed class JournalEntry
{
    /// <summary>journald refuses longer field names.</summary>
    public const int MaxNameLength = 64;

    private readonly ArrayBufferWriter<byte> _bytes = new(512);

    /// <summary>The datagram so far.</summary>
    public ReadOnlyMemory<byte> Datagram => _bytes.WrittenMemory;

    /// <summary>Appends one field; false (and nothing written) when <paramref name="name"/> is not a valid field name.</summary>
    public bool Add(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!IsValidName(name))
        {
            return false;
        }

        Ascii(name);
        if (!value.Contains('\n', StringComparison.Ordinal))
        {
            Ascii("=");
            Utf8(value);
        }
        else
        {
            Ascii("\n");
            var length = Encoding.UTF8.GetByteCount(value);
            BinaryPrimitives.WriteUInt64LittleEndian(_bytes.GetSpan(8), (ulong)length);
            _bytes.Advance(8);
            Utf8(value);
        }

        Ascii("\n");
        return true;
    }

    /// <summary>Whether journald accepts <paramref name="name"/> as the name of a field an application sends.</summary>
    public static bool IsValidName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name[0] == '_' || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A structured-log property name as a journal field name: <c>LocalTs</c> becomes <c>LOCAL_TS</c>, anything but
    /// letters and digits an underscore, with <paramref name="prefix"/> in front (so that a property can never be
    /// mistaken for one of journald's well-known fields such as MESSAGE or PRIORITY).
    /// </summary>
    public static string FieldName(string prefix, string property)
    {
        var sb = new StringBuilder(prefix.Length + property.Length + 4).Append(prefix);
        for (var i = 0; i < property.Length; i++)
        {
            var c = property[i];
            if (char.IsAsciiLetterUpper(c) && i > 0 && (char.IsAsciiLetterLower(property[i - 1]) || char.IsAsciiDigit(property[i - 1])))
            {
                sb.Append('_');
            }

            sb.Append(char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_');
        }

        return sb.Length > MaxNameLength ? sb.ToString(0, MaxNameLength) : sb.ToString();
    }

    /// <summary>
    /// Reads the fields of a datagram in this format (a journal entry, or an sd_notify message, whose lines are the
    /// simple form); null if it is malformed (a binary length past the end, a missing newline).
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>>? Parse(ReadOnlySpan<byte> datagram)
    {
        var fields = new List<KeyValuePair<string, string>>();
        while (!datagram.IsEmpty)
        {
            var end = datagram.IndexOfAny((byte)'=', (byte)'\n');
            if (end <= 0)
            {
                return null;
            }

            var name = Encoding.ASCII.GetString(datagram[..end]);
            if (datagram[end] == '=')
            {
                var rest = datagram[(end + 1)..];
                var nl = rest.IndexOf((byte)'\n');
                if (nl < 0)
                {
                    return null;
                }

                fields.Add(new(name, Encoding.UTF8.GetString(rest[..nl])));
                datagram = rest[(nl + 1)..];
                continue;
            }

            var body = datagram[(end + 1)..];
            if (body.Length < 9)
            {
                return null;
            }

            var length = BinaryPrimitives.ReadUInt64LittleEndian(body);
            if (length > (ulong)(body.Length - 9) || body[8 + (int)length] != '\n')
            {
                return null;
            }

            fields.Add(new(name, Encoding.UTF8.GetString(body.Slice(8, (int)length))));
            datagram = body[(8 + (int)length + 1)..];
        }

        return fields;
    }

    private void Ascii(string text)
    {
        var span = _bytes.GetSpan(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            span[i] = (byte)text[i];
        }

        _bytes.Advance(text.Length);
    }

    private void Utf8(string text)
    {
        var written = Encoding.UTF8.GetBytes(text, _bytes.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length)));
        _bytes.Advance(written);
    }
}
