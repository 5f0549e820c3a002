using System.Buffers.Binary;
using System.Text;

namespace Oakley.Host.Vici;

/// <summary>
/// The VICI message encoding (README "Message format"): a sequence of elements, each an 8-bit type, an 8-bit-length
/// name for SECTION_START, KEY_VALUE and LIST_START, and a 16-bit-length (network order) blob for KEY_VALUE and
/// LIST_ITEM. <see cref="Decode"/> accepts only balanced, well-formed messages and throws
/// <see cref="ViciFormatException"/> for anything else, never another exception.
/// </summary>
public static class ViciEncoding
{
    private const byte SectionStart = 1;
    private const byte SectionEnd = 2;
    private const byte KeyValue = 3;
    private const byte ListStart = 4;
    private const byte ListItem = 5;
    private const byte ListEnd = 6;

    /// <summary>Deeper nesting than any swanctl message (connections.NAME.children.NAME is 4) is refused.</summary>
    public const int MaxDepth = 32;

    public static byte[] Encode(ViciSection message)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var buffer = new MemoryStream();
        Write(buffer, message);
        return buffer.ToArray();
    }

    private static void Write(Stream output, ViciSection section)
    {
        foreach (var entry in section.Entries)
        {
            switch (entry)
            {
                case ViciValue v:
                    output.WriteByte(KeyValue);
                    WriteName(output, v.Key);
                    WriteBlob(output, v.Value);
                    break;
                case ViciList l:
                    output.WriteByte(ListStart);
                    WriteName(output, l.Key);
                    foreach (var item in l.Items)
                    {
                        output.WriteByte(ListItem);
                        WriteBlob(output, item);
                    }

                    output.WriteByte(ListEnd);
                    break;
                case ViciSubsection s:
                    output.WriteByte(SectionStart);
                    WriteName(output, s.Key);
                    Write(output, s.Section);
                    output.WriteByte(SectionEnd);
                    break;
            }
        }
    }

    private static void WriteName(Stream output, string name)
    {
        var bytes = Encoding.ASCII.GetBytes(name);
        if (bytes.Length > byte.MaxValue)
        {
            throw new ArgumentException($"VICI name longer than 255 bytes: '{name[..40]}...'", nameof(name));
        }

        output.WriteByte((byte)bytes.Length);
        output.Write(bytes);
    }

    private static void WriteBlob(Stream output, byte[] value)
    {
        if (value.Length > ushort.MaxValue)
        {
            throw new ArgumentException($"VICI value of {value.Length} bytes: at most 65535", nameof(value));
        }

        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)value.Length);
        output.Write(length);
        output.Write(value);
    }

    /// <summary>Decodes a message; throws <see cref="ViciFormatException"/> if it is malformed.</summary>
    public static ViciSection Decode(ReadOnlySpan<byte> data)
    {
        var root = new ViciSection();
        var stack = new Stack<ViciSection>();
        var current = root;
        List<byte[]>? list = null;
        var listName = "";
        var pos = 0;
        while (pos < data.Length)
        {
            var type = data[pos++];
            if (list is not null && type is not (ListItem or ListEnd))
            {
                throw new ViciFormatException($"element type {type} inside a list");
            }

            switch (type)
            {
                case SectionStart:
                    if (stack.Count >= MaxDepth)
                    {
                        throw new ViciFormatException($"sections nested deeper than {MaxDepth}");
                    }

                    var name = ReadName(data, ref pos);
                    stack.Push(current);
                    current = current.AddSection(name);
                    break;
                case SectionEnd:
                    current = stack.Count > 0 ? stack.Pop() : throw new ViciFormatException("SECTION_END without a section");
                    break;
                case KeyValue:
                    var key = ReadName(data, ref pos);
                    current.Add(key, ReadBlob(data, ref pos));
                    break;
                case ListStart:
                    // The list is added at LIST_END: AddList copies its items, so adding it here kept it empty.
                    list = [];
                    listName = ReadName(data, ref pos);
                    break;
                case ListItem:
                    (list ?? throw new ViciFormatException("LIST_ITEM outside a list")).Add(ReadBlob(data, ref pos));
                    break;
                case ListEnd:
                    current.AddList(listName, list ?? throw new ViciFormatException("LIST_END without a list"));
                    list = null;
                    break;
                default:
                    throw new ViciFormatException($"unknown element type {type}");
            }
        }

        if (stack.Count > 0 || list is not null)
        {
            throw new ViciFormatException("the message ends inside a section or list");
        }

        return root;
    }

    private static string ReadName(ReadOnlySpan<byte> data, ref int pos)
    {
        if (pos >= data.Length || pos + 1 + data[pos] > data.Length)
        {
            throw new ViciFormatException("truncated name");
        }

        var length = data[pos];
        var name = Encoding.ASCII.GetString(data.Slice(pos + 1, length));
        pos += 1 + length;
        return name;
    }

    private static byte[] ReadBlob(ReadOnlySpan<byte> data, ref int pos)
    {
        if (pos + 2 > data.Length)
        {
            throw new ViciFormatException("truncated value length");
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(pos, 2));
        if (pos + 2 + length > data.Length)
        {
            throw new ViciFormatException("truncated value");
        }

        var value = data.Slice(pos + 2, length).ToArray();
        pos += 2 + length;
        return value;
    }
}

/// <summary>A malformed VICI packet or message (the connection that sent it is closed).</summary>
public sealed class ViciFormatException(string message) : Exception(message);
