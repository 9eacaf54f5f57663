using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using IkeActors.Generators.Model;

namespace IkeActors.Generators.Parsing;

/// <summary>
/// Reads one <c>.isakmp</c> schema file (syntax in schemas/README.md) into a
/// <see cref="SchemaFile"/>. Never throws: every mistake becomes a diagnostic with
/// the file, line and column.
/// </summary>
internal sealed class SchemaParser
{
    public const string DefaultNamespace = "IkeActors.Protocol";

    private readonly string _path;
    private readonly List<SchemaDiagnostic> _diagnostics = new();
    private readonly List<EnumDef> _enums = new();
    private readonly List<PayloadDef> _payloads = new();
    private readonly List<AttributeClassDef> _attributeClasses = new();
    private readonly List<VendorDef> _vendors = new();
    private readonly List<MessageDef> _messages = new();
    private string _namespace = DefaultNamespace;

    // The open block, if any.
    private string? _blockKind;
    private Token _blockName;
    private int _blockLine;
    private string? _blockDoc;
    private int _blockWidth;
    private bool _blockFlags;
    private bool _blockIsHeader;
    private int _blockTypeNumber;
    private string _blockDisplay = "";
    private bool _blockNested;
    private readonly List<EnumMemberDef> _members = new();
    private readonly List<FieldDef> _fields = new();
    private readonly List<AttributeDef> _attributes = new();
    private int _reservedCount;
    private bool _skipBlock;      // the last directive was broken: its indented lines are not reported again
    private bool _blockHadErrors; // a member was broken: do not also call the block empty

    private SchemaParser(string path) => _path = path;

    public static SchemaFile Parse(string path, string text)
    {
        var p = new SchemaParser(path);
        p.ParseAll(text);
        return new SchemaFile(path,
            p._enums.ToImmutableArray(), p._payloads.ToImmutableArray(), p._attributeClasses.ToImmutableArray(),
            p._vendors.ToImmutableArray(), p._messages.ToImmutableArray(), p._diagnostics.ToImmutableArray());
    }

    private void ParseAll(string text)
    {
        var lines = text.Split('\n');
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n];
            var tokens = LineTokenizer.Tokenize(line, out var comment, out var error, out var errorColumn);
            if (error is not null)
            {
                Report("IKEGEN001", error, n, errorColumn, 1);
                continue;
            }
            if (tokens.Count == 0) continue;
            var indented = line.Length > 0 && (line[0] == ' ' || line[0] == '\t');
            if (!indented)
            {
                CloseBlock();
                var before = _diagnostics.Count;
                ParseDirective(tokens, comment, n);
                _skipBlock = _blockKind is null && _diagnostics.Count > before;
            }
            else if (_skipBlock)
            {
                continue;
            }
            else if (_blockKind is null)
            {
                Report("IKEGEN003", "an indented line belongs to an enum, payload, header or attributes block, and none is open here", n, tokens[0].Column, tokens[0].Length);
            }
            else
            {
                var before = _diagnostics.Count;
                ParseMember(tokens, comment, n);
                if (_diagnostics.Count > before) _blockHadErrors = true;
            }
        }
        CloseBlock();
    }

    // ---------------------------------------------------------------- directives

    private void ParseDirective(List<Token> t, string? comment, int line)
    {
        var head = t[0];
        switch (head.Text)
        {
            case "namespace":
                if (t.Count != 2 || t[1].Kind != TokenKind.Word || !IsDottedIdentifier(t[1].Text))
                {
                    Expected("a namespace name, as in 'namespace IkeActors.Protocol'", t, 1, line);
                    return;
                }
                _namespace = t[1].Text;
                return;
            case "enum": ParseEnumHead(t, comment, line); return;
            case "payload": ParsePayloadHead(t, comment, line, header: false); return;
            case "header": ParsePayloadHead(t, comment, line, header: true); return;
            case "attributes": ParseAttributesHead(t, comment, line); return;
            case "vendor": ParseVendor(t, comment, line); return;
            case "message": ParseMessage(t, comment, line); return;
            default:
                Report("IKEGEN002", $"unknown directive '{head.Text}': expected namespace, enum, payload, header, attributes, vendor or message", line, head.Column, head.Length);
                return;
        }
    }

    // enum Name : u8 [flags]
    private void ParseEnumHead(List<Token> t, string? comment, int line)
    {
        if (!ExpectName(t, 1, line, out var name)) return;
        if (t.Count < 4 || t[2].Kind != TokenKind.Colon || t[3].Kind != TokenKind.Word || WidthOf(t[3].Text) is not (1 or 2 or 4 or 8))
        {
            Expected("': u8', ': u16', ': u32' or ': u64' after the enum name", t, Math.Min(2, t.Count), line);
            return;
        }
        var flags = false;
        for (var i = 4; i < t.Count; i++)
        {
            if (t[i].Text == "flags" && t[i].Kind == TokenKind.Word) flags = true;
            else { Expected("'flags' or the end of the line", t, i, line); return; }
        }
        OpenBlock("enum", name, line, comment);
        _blockWidth = WidthOf(t[3].Text);
        _blockFlags = flags;
    }

    // payload Name = N "DISPLAY" [nested]   |   header Name
    private void ParsePayloadHead(List<Token> t, string? comment, int line, bool header)
    {
        if (!ExpectName(t, 1, line, out var name)) return;
        var typeNumber = -1;
        var display = name.Text;
        var nested = false;
        var i = 2;
        if (!header)
        {
            if (t.Count < 4 || t[2].Kind != TokenKind.Equals)
            {
                Expected("'= N' with the payload type number (RFC 2408 §3.1)", t, Math.Min(2, t.Count), line);
                return;
            }
            if (!TryNumber(t[3], line, 0, 255, out var number)) return;
            typeNumber = (int)number;
            i = 4;
        }
        if (i < t.Count && t[i].Kind == TokenKind.String) { display = t[i].Text; i++; }
        for (; i < t.Count; i++)
        {
            if (!header && t[i].Kind == TokenKind.Word && t[i].Text == "nested") nested = true;
            else { Expected(header ? "a display string or the end of the line" : "a display string, 'nested' or the end of the line", t, i, line); return; }
        }
        OpenBlock(header ? "header" : "payload", name, line, comment);
        _blockIsHeader = header;
        _blockTypeNumber = typeNumber;
        _blockDisplay = display;
        _blockNested = nested;
    }

    private void ParseAttributesHead(List<Token> t, string? comment, int line)
    {
        if (!ExpectName(t, 1, line, out var name)) return;
        if (t.Count > 2) { Expected("the end of the line", t, 2, line); return; }
        OpenBlock("attributes", name, line, comment);
    }

    // vendor Name "display" HEX [prefix]
    private void ParseVendor(List<Token> t, string? comment, int line)
    {
        if (!ExpectName(t, 1, line, out var name)) return;
        if (t.Count < 4 || t[2].Kind != TokenKind.String || t[3].Kind != TokenKind.Word)
        {
            Expected("a display string and the vendor ID bytes in hex, as in 'vendor Dpd \"DPD\" afcad71368a1f1c96b8696fc77570100'", t, Math.Min(t.Count, t.Count < 3 || t[2].Kind != TokenKind.String ? 2 : 3), line);
            return;
        }
        var hex = t[3].Text;
        if (hex.Length == 0 || hex.Length % 2 != 0 || !IsHex(hex))
        {
            Report("IKEGEN010", $"vendor ID '{hex}' is not an even number of hex digits", line, t[3].Column, t[3].Length);
            return;
        }
        var bytes = ImmutableArray.CreateBuilder<byte>(hex.Length / 2);
        for (var k = 0; k < hex.Length; k += 2)
            bytes.Add(byte.Parse(hex.Substring(k, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        var prefix = false;
        for (var i = 4; i < t.Count; i++)
        {
            if (t[i].Kind == TokenKind.Word && t[i].Text == "prefix") prefix = true;
            else { Expected("'prefix' or the end of the line", t, i, line); return; }
        }
        _vendors.Add(new VendorDef(name.Text, _namespace, t[2].Text, bytes.MoveToImmutable(), prefix, comment, Loc(line, name)));
    }

    // message Name id=N severity=N class=C level=N context=C "template"
    private void ParseMessage(List<Token> t, string? comment, int line)
    {
        if (!ExpectName(t, 1, line, out var name)) return;
        int? id = null, severity = null, level = null;
        string? cls = null, context = null;
        Token? template = null;
        var i = 2;
        while (i < t.Count)
        {
            if (t[i].Kind == TokenKind.String)
            {
                if (template is not null) { Expected("one template string only", t, i, line); return; }
                template = t[i]; i++; continue;
            }
            if (t[i].Kind != TokenKind.Word || i + 2 >= t.Count || t[i + 1].Kind != TokenKind.Equals)
            {
                Expected("key=value (id, severity, class, level, context) or the template string", t, i, line);
                return;
            }
            var key = t[i]; var value = t[i + 2];
            switch (key.Text)
            {
                case "id":
                    if (!TryNumber(value, line, 100000, 999999, out var v1)) return;
                    id = (int)v1; break;
                case "severity":
                    if (!TryNumber(value, line, 0, 7, out var v2)) return;
                    severity = (int)v2; break;
                case "level":
                    if (!TryNumber(value, line, 1, 255, out var v3)) return;
                    level = (int)v3; break;
                case "class":
                    if (value.Text is not ("IKEv1" or "DEBUG" or "DECODE" or "IPSEC"))
                    {
                        Report("IKEGEN002", $"unknown message class '{value.Text}': expected IKEv1, DEBUG, DECODE or IPSEC", line, value.Column, value.Length);
                        return;
                    }
                    cls = value.Text; break;
                case "context":
                    if (value.Text is not ("none" or "peer"))
                    {
                        Report("IKEGEN002", $"unknown message context '{value.Text}': expected none or peer", line, value.Column, value.Length);
                        return;
                    }
                    context = value.Text; break;
                default:
                    Report("IKEGEN002", $"unknown message key '{key.Text}': expected id, severity, class, level or context", line, key.Column, key.Length);
                    return;
            }
            i += 3;
        }
        var missing = id is null ? "id" : severity is null ? "severity" : cls is null ? "class" : level is null ? "level" : context is null ? "context" : template is null ? "template string" : null;
        if (missing is not null)
        {
            Report("IKEGEN001", $"message '{name.Text}' has no {missing}", line, name.Column, name.Length);
            return;
        }
        var parts = ParseTemplate(template!.Value, line);
        if (parts is null) return;
        _messages.Add(new MessageDef(name.Text, _namespace, id!.Value, severity!.Value, cls!, level!.Value, context!,
            template.Value.Text, parts.Value, comment, Loc(line, name)));
    }

    private ImmutableArray<TemplatePart>? ParseTemplate(Token template, int line)
    {
        var text = template.Text;
        var parts = ImmutableArray.CreateBuilder<TemplatePart>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var literal = new System.Text.StringBuilder();
        var col = template.Column + 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '{' && i + 1 < text.Length && text[i + 1] == '{') { literal.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < text.Length && text[i + 1] == '}') { literal.Append('}'); i++; continue; }
            if (c == '}') { Report("IKEGEN009", "a '}' without its '{' (write '}}' for a literal brace)", line, col + i, 1); return null; }
            if (c != '{') { literal.Append(c); continue; }
            var close = text.IndexOf('}', i);
            if (close < 0) { Report("IKEGEN009", "a '{' without its '}' (write '{{' for a literal brace)", line, col + i, 1); return null; }
            var hole = text.Substring(i + 1, close - i - 1);
            var colon = hole.IndexOf(':');
            if (colon <= 0 || colon == hole.Length - 1)
            {
                Report("IKEGEN009", $"hole '{{{hole}}}' must be '{{name:type}}' with type text, int, hex, HEX, ip or payloads", line, col + i, close - i + 1);
                return null;
            }
            var holeName = hole.Substring(0, colon);
            var typeName = hole.Substring(colon + 1);
            if (!IsIdentifier(holeName) || char.IsUpper(holeName[0]))
            {
                Report("IKEGEN009", $"hole name '{holeName}' must be a camelCase identifier (it becomes a parameter)", line, col + i + 1, holeName.Length);
                return null;
            }
            if (!names.Add(holeName))
            {
                Report("IKEGEN009", $"hole '{holeName}' appears twice in the template", line, col + i + 1, holeName.Length);
                return null;
            }
            HoleType type;
            switch (typeName)
            {
                case "text": type = HoleType.Text; break;
                case "int": type = HoleType.Int; break;
                case "hex": type = HoleType.Hex; break;
                case "HEX": type = HoleType.HexUpper; break;
                case "ip": type = HoleType.Ip; break;
                case "payloads": type = HoleType.Payloads; break;
                default:
                    Report("IKEGEN009", $"unknown hole type '{typeName}': expected text, int, hex, HEX, ip or payloads", line, col + i + colon + 2, typeName.Length);
                    return null;
            }
            if (literal.Length > 0) { parts.Add(new TemplatePart(literal.ToString(), null, HoleType.Text)); literal.Clear(); }
            parts.Add(new TemplatePart(null, holeName, type));
            i = close;
        }
        if (literal.Length > 0) parts.Add(new TemplatePart(literal.ToString(), null, HoleType.Text));
        return parts.ToImmutable();
    }

    // ---------------------------------------------------------------- block members

    private void ParseMember(List<Token> t, string? comment, int line)
    {
        switch (_blockKind)
        {
            case "enum": ParseEnumMember(t, comment, line); break;
            case "payload":
            case "header": ParseField(t, comment, line); break;
            case "attributes": ParseAttribute(t, comment, line); break;
        }
    }

    //   VALUE Name ["display"]
    private void ParseEnumMember(List<Token> t, string? comment, int line)
    {
        if (!TryNumber(t[0], line, 0, ulong.MaxValue, out var value)) return;
        if (_blockWidth < 8 && value >= 1UL << (_blockWidth * 8))
        {
            Report("IKEGEN013", $"value {t[0].Text} does not fit the enum's {_blockWidth * 8}-bit width", line, t[0].Column, t[0].Length);
            return;
        }
        if (!ExpectName(t, 1, line, out var name)) return;
        var display = name.Text;
        var i = 2;
        if (i < t.Count && t[i].Kind == TokenKind.String) { display = t[i].Text; i++; }
        if (i < t.Count) { Expected("a display string or the end of the line", t, i, line); return; }
        _members.Add(new EnumMemberDef(name.Text, value, display, comment, Loc(line, name)));
    }

    //   TYPE Name basic|variable|any [enum E] ["display"]
    private void ParseAttribute(List<Token> t, string? comment, int line)
    {
        if (!TryNumber(t[0], line, 1, 32767, out var type)) return;
        if (!ExpectName(t, 1, line, out var name)) return;
        if (t.Count < 3 || t[2].Kind != TokenKind.Word || t[2].Text is not ("basic" or "variable" or "any"))
        {
            Expected("'basic' (TV), 'variable' (TLV) or 'any' (RFC 2408 §3.3)", t, 2, line);
            return;
        }
        var form = t[2].Text switch { "basic" => AttributeForm.Basic, "variable" => AttributeForm.Variable, _ => AttributeForm.Any };
        string? enumType = null;
        var display = name.Text;
        var i = 3;
        while (i < t.Count)
        {
            if (t[i].Kind == TokenKind.Word && t[i].Text == "enum" && i + 1 < t.Count && t[i + 1].Kind == TokenKind.Word)
            {
                enumType = t[i + 1].Text; i += 2; continue;
            }
            if (t[i].Kind == TokenKind.String) { display = t[i].Text; i++; continue; }
            Expected("'enum Name', a display string or the end of the line", t, i, line);
            return;
        }
        _attributes.Add(new AttributeDef((int)type, name.Text, form, enumType, display, comment, Loc(line, name)));
    }

    //   u8|u16|u32|u64 Name [enum E] [length]
    //   reserved u8|u16|u24|u32
    //   bytes Name size N|Field|rest [min N] [max N]
    //   array Name element Field count Field
    //   payloads Name of Child [count Field]
    //   attributes Name [of Class]
    private void ParseField(List<Token> t, string? comment, int line)
    {
        var kindToken = t[0];
        var kindText = kindToken.Text;
        if (kindText == "reserved")
        {
            if (t.Count != 2 || WidthOf(t[1].Text) is not (1 or 2 or 3 or 4))
            {
                Expected("'u8', 'u16', 'u24' or 'u32' after 'reserved'", t, 1, line);
                return;
            }
            _reservedCount++;
            _fields.Add(new FieldDef(FieldKind.Reserved, "Reserved" + _reservedCount, WidthOf(t[1].Text), null, false, 0, null, false, -1, -1, null, null, null, comment, Loc(line, kindToken)));
            return;
        }
        FieldKind kind;
        var width = WidthOf(kindText);
        if (width is 1 or 2 or 4 or 8) kind = FieldKind.Integer;
        else if (kindText == "bytes") kind = FieldKind.Bytes;
        else if (kindText == "array") kind = FieldKind.Array;
        else if (kindText == "payloads") kind = FieldKind.Payloads;
        else if (kindText == "attributes") kind = FieldKind.Attributes;
        else
        {
            Report("IKEGEN002", $"unknown field kind '{kindText}': expected u8, u16, u32, u64, reserved, bytes, array, payloads or attributes", line, kindToken.Column, kindToken.Length);
            return;
        }
        if (!ExpectName(t, 1, line, out var name)) return;

        string? enumType = null, sizeField = null, elementField = null, countField = null, child = null;
        bool isLength = false, rest = false;
        int fixedSize = 0, min = -1, max = -1;
        var i = 2;
        while (i < t.Count)
        {
            var m = t[i];
            if (m.Kind != TokenKind.Word) { Expected("a field modifier", t, i, line); return; }
            var hasArg = i + 1 < t.Count && t[i + 1].Kind == TokenKind.Word;
            switch (m.Text)
            {
                case "enum" when kind == FieldKind.Integer && hasArg:
                    enumType = t[i + 1].Text; i += 2; continue;
                case "length" when kind == FieldKind.Integer:
                    isLength = true; i++; continue;
                case "size" when kind == FieldKind.Bytes && hasArg:
                    var arg = t[i + 1];
                    if (arg.Text == "rest") rest = true;
                    else if (char.IsDigit(arg.Text[0]))
                    {
                        if (!TryNumber(arg, line, 1, 65535, out var n)) return;
                        fixedSize = (int)n;
                    }
                    else sizeField = arg.Text;
                    i += 2; continue;
                case "min" when kind == FieldKind.Bytes && hasArg:
                    if (!TryNumber(t[i + 1], line, 0, 65535, out var mn)) return;
                    min = (int)mn; i += 2; continue;
                case "max" when kind == FieldKind.Bytes && hasArg:
                    if (!TryNumber(t[i + 1], line, 0, 65535, out var mx)) return;
                    max = (int)mx; i += 2; continue;
                case "element" when kind == FieldKind.Array && hasArg:
                    elementField = t[i + 1].Text; i += 2; continue;
                case "count" when (kind == FieldKind.Array || kind == FieldKind.Payloads) && hasArg:
                    countField = t[i + 1].Text; i += 2; continue;
                case "of" when (kind == FieldKind.Payloads || kind == FieldKind.Attributes) && hasArg:
                    child = t[i + 1].Text; i += 2; continue;
                default:
                    Expected(ModifiersFor(kind), t, i, line);
                    return;
            }
        }
        var loc = Loc(line, name);
        switch (kind)
        {
            case FieldKind.Bytes when !rest && fixedSize == 0 && sizeField is null:
                Report("IKEGEN001", $"bytes field '{name.Text}' needs 'size N', 'size Field' or 'size rest'", line, name.Column, name.Length);
                return;
            case FieldKind.Array when elementField is null || countField is null:
                Report("IKEGEN001", $"array field '{name.Text}' needs 'element Field' and 'count Field'", line, name.Column, name.Length);
                return;
            case FieldKind.Payloads when child is null:
                Report("IKEGEN001", $"payloads field '{name.Text}' needs 'of PayloadName'", line, name.Column, name.Length);
                return;
        }
        if (min >= 0 && max >= 0 && min > max)
        {
            Report("IKEGEN004", $"min {min} is larger than max {max}", line, name.Column, name.Length);
            return;
        }
        if (kind is FieldKind.Array or FieldKind.Payloads or FieldKind.Attributes) rest = true;
        _fields.Add(new FieldDef(kind, name.Text, kind == FieldKind.Integer ? width : 0, enumType, isLength, fixedSize, sizeField, rest, min, max, elementField, countField, child, comment, loc));
    }

    private static string ModifiersFor(FieldKind kind) => kind switch
    {
        FieldKind.Integer => "'enum Name', 'length' or the end of the line",
        FieldKind.Bytes => "'size N|Field|rest', 'min N', 'max N' or the end of the line",
        FieldKind.Array => "'element Field', 'count Field' or the end of the line",
        FieldKind.Payloads => "'of PayloadName', 'count Field' or the end of the line",
        _ => "'of AttributeClass' or the end of the line",
    };

    // ---------------------------------------------------------------- blocks

    private void OpenBlock(string kind, Token name, int line, string? doc)
    {
        _blockKind = kind;
        _blockName = name;
        _blockLine = line;
        _blockDoc = doc;
        _members.Clear();
        _fields.Clear();
        _attributes.Clear();
        _reservedCount = 0;
        _blockHadErrors = false;
    }

    private void CloseBlock()
    {
        if (_blockKind is null) return;
        var loc = Loc(_blockLine, _blockName);
        switch (_blockKind)
        {
            case "enum":
                if (_members.Count == 0 && !_blockHadErrors) Report("IKEGEN012", $"enum '{_blockName.Text}' has no members", loc);
                else if (_members.Count > 0) _enums.Add(new EnumDef(_blockName.Text, _namespace, _blockWidth, _blockFlags, _members.ToImmutableArray(), _blockDoc, loc));
                break;
            case "payload":
            case "header":
                if (_fields.Count == 0 && !_blockHadErrors) Report("IKEGEN012", $"{_blockKind} '{_blockName.Text}' has no fields", loc);
                else if (_fields.Count > 0 && !_blockHadErrors) _payloads.Add(new PayloadDef(_blockName.Text, _namespace, _blockIsHeader, _blockTypeNumber, _blockDisplay, _blockNested, _fields.ToImmutableArray(), _blockDoc, loc));
                break;
            case "attributes":
                if (_attributes.Count == 0 && !_blockHadErrors) Report("IKEGEN012", $"attributes '{_blockName.Text}' has no attributes", loc);
                else if (_attributes.Count > 0) _attributeClasses.Add(new AttributeClassDef(_blockName.Text, _namespace, _attributes.ToImmutableArray(), _blockDoc, loc));
                break;
        }
        _blockKind = null;
    }

    // ---------------------------------------------------------------- helpers

    private bool ExpectName(List<Token> t, int index, int line, out Token name)
    {
        name = default;
        if (index >= t.Count || t[index].Kind != TokenKind.Word)
        {
            Expected("a name", t, index, line);
            return false;
        }
        name = t[index];
        if (!IsIdentifier(name.Text))
        {
            Report("IKEGEN011", $"'{name.Text}' is not a valid name: use letters, digits and '_', starting with a letter", line, name.Column, name.Length);
            return false;
        }
        return true;
    }

    private bool TryNumber(Token token, int line, ulong min, ulong max, out ulong value)
    {
        var text = token.Text;
        value = 0;
        var ok = token.Kind == TokenKind.Word && (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.Substring(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value));
        if (!ok) value = 0;
        if (!ok || value < min || value > max)
        {
            Report("IKEGEN004", $"'{token.Text}' is not a number from {min} to {max}", line, token.Column, Math.Max(1, token.Length));
            return false;
        }
        return true;
    }

    private void Expected(string what, List<Token> t, int index, int line)
    {
        if (index < t.Count)
            Report("IKEGEN001", $"expected {what}, found '{t[index]}'", line, t[index].Column, t[index].Length);
        else
        {
            var last = t[t.Count - 1];
            Report("IKEGEN001", $"expected {what} at the end of the line", line, last.Column + last.Length, 1);
        }
    }

    private static int WidthOf(string text) => text switch
    {
        "u8" => 1, "u16" => 2, "u24" => 3, "u32" => 4, "u64" => 8, _ => 0,
    };

    internal static bool IsIdentifier(string s)
    {
        if (s.Length == 0 || !(char.IsLetter(s[0]) || s[0] == '_')) return false;
        foreach (var c in s)
            if (!(char.IsLetterOrDigit(c) || c == '_') || c > 127) return false;
        return Microsoft.CodeAnalysis.CSharp.SyntaxFacts.GetKeywordKind(s) == Microsoft.CodeAnalysis.CSharp.SyntaxKind.None;
    }

    private static bool IsDottedIdentifier(string s)
    {
        foreach (var part in s.Split('.'))
            if (!IsIdentifier(part)) return false;
        return true;
    }

    private static bool IsHex(string s)
    {
        foreach (var c in s)
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
        return true;
    }

    private SchemaLocation Loc(int line, Token token) => new(_path, line, token.Column, token.Length);

    private void Report(string id, string message, int line, int column, int length) =>
        _diagnostics.Add(new SchemaDiagnostic(id, message, new SchemaLocation(_path, line, column, length)));

    private void Report(string id, string message, SchemaLocation loc) =>
        _diagnostics.Add(new SchemaDiagnostic(id, message, loc));
}
