// A small JSON value with deterministic output (keys in insertion order), for reports and --format json.

public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool { a.serialized() == b.serialized() }
    public func hash(into h: inout Hasher) { h.combine(serialized()) }

    /// Serialized JSON; `pretty` indents by two spaces. Doubles print with up to 6 significant decimals.
    public func serialized(pretty: Bool = true) -> String {
        var out = ""
        write(&out, indent: pretty ? 0 : -1)
        return out
    }

    private func write(_ out: inout String, indent: Int) {
        let nl = indent >= 0 ? "\n" : ""
        let pad = { (n: Int) in indent >= 0 ? String(repeating: "  ", count: n) : "" }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? formatDecimal(d) : "null"
        case .string(let s): JSON.quote(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[" + nl
            for (i, item) in items.enumerated() {
                out += pad(indent + 1)
                item.write(&out, indent: indent >= 0 ? indent + 1 : -1)
                out += (i + 1 < items.count ? "," : "") + nl
            }
            out += pad(indent) + "]"
        case .object(let fields):
            if fields.isEmpty { out += "{}"; return }
            out += "{" + nl
            for (i, (k, v)) in fields.enumerated() {
                out += pad(indent + 1)
                JSON.quote(k, into: &out)
                out += indent >= 0 ? ": " : ":"
                v.write(&out, indent: indent >= 0 ? indent + 1 : -1)
                out += (i + 1 < fields.count ? "," : "") + nl
            }
            out += pad(indent) + "}"
        }
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 { out += "\\u" + hex(c.value, 4) } else { out.unicodeScalars.append(c) }
            }
        }
        out += "\""
    }
}

extension JSON {
    public init(_ s: String?) { self = s.map { .string($0) } ?? .null }
    public init(_ i: Int?) { self = i.map { .int(Int64($0)) } ?? .null }
}

extension Diagnostic {
    public var json: JSON {
        .object([("file", .string(file)), ("line", JSON(line)), ("severity", .string(severity.rawValue)), ("message", .string(message))])
    }
}
