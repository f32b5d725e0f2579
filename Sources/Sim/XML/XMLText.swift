// Writing XML text: escaping and a small element builder with stable attribute order.

public enum XMLText {
    /// Escapes text for an attribute value or character data.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\n": out += "&#10;"
            case "\t": out += "&#9;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// Accumulates indented XML lines.
public struct XMLBuilder {
    public private(set) var text = ""
    var depth = 0
    public init(declaration: Bool = true) {
        if declaration { text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" }
    }

    static func attributes(_ attrs: [(String, String?)]) -> String {
        attrs.compactMap { name, value in value.map { " \(name)=\"\(XMLText.escape($0))\"" } }.joined()
    }
    public mutating func empty(_ name: String, _ attrs: [(String, String?)]) {
        line("<\(name)\(XMLBuilder.attributes(attrs))/>")
    }
    public mutating func open(_ name: String, _ attrs: [(String, String?)]) {
        line("<\(name)\(XMLBuilder.attributes(attrs))>")
        depth += 1
    }
    public mutating func close(_ name: String) {
        depth -= 1
        line("</\(name)>")
    }
    public mutating func textElement(_ name: String, _ attrs: [(String, String?)] = [], _ content: String) {
        line("<\(name)\(XMLBuilder.attributes(attrs))>\(XMLText.escape(content))</\(name)>")
    }
    public mutating func comment(_ s: String) {
        line("<!-- \(s.replacingOccurrences(of: "--", with: "- -")) -->")
    }
    mutating func line(_ s: String) {
        text += String(repeating: "  ", count: depth) + s + "\n"
    }
}
