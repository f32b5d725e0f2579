// A plain-value XML element tree with line numbers, built from libxml2's tree and then independent of it.

/// An element with its attributes (in document order), element children and source line.
public struct XMLElement: Hashable, Sendable {
    public var name: String
    public var line: Int
    public var attributes: [(name: String, value: String)]
    public var children: [XMLElement]
    /// Concatenated text content directly inside this element.
    public var text: String

    public init(name: String, line: Int = 0, attributes: [(name: String, value: String)] = [],
                children: [XMLElement] = [], text: String = "") {
        self.name = name
        self.line = line
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    public subscript(attribute: String) -> String? {
        attributes.first { $0.name == attribute }?.value
    }
    public func children(named name: String) -> [XMLElement] { children.filter { $0.name == name } }

    public static func == (a: XMLElement, b: XMLElement) -> Bool {
        a.name == b.name && a.line == b.line && a.text == b.text && a.children == b.children
            && a.attributes.map(\.name) == b.attributes.map(\.name) && a.attributes.map(\.value) == b.attributes.map(\.value)
    }
    public func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(line)
        h.combine(children)
    }
}
