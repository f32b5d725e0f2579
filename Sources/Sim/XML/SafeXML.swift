// Hardened libxml2 access: bounded input, no DTDs or entities, no network; XSD validation with line numbers.
import CSupport
import Foundation

/// Limits applied to every XML input PCIeSim reads.
public struct XMLLimits: Sendable {
    /// Largest file accepted, in bytes.
    public var maxBytes: Int
    /// Deepest element nesting accepted (libxml2's own hard limit, 256, stands behind it).
    public var maxDepth: Int
    public init(maxBytes: Int = 64 << 20, maxDepth: Int = 64) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
    }
    public static let `default` = XMLLimits()
}

/// Reads XML safely and validates it against an XSD schema compiled into the binary.
public enum SafeXML {
    /// Reads a file with the size bound checked before the bytes are read.
    public static func readFile(_ path: String, limits: XMLLimits = .default) throws(DiagnosticError) -> [UInt8] {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw DiagnosticError(file: path, "cannot read file: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw DiagnosticError(file: path, "not a regular file") }
        guard Int(st.st_size) <= limits.maxBytes else {
            throw DiagnosticError(file: path, "file is \(st.st_size) bytes; the limit is \(limits.maxBytes) bytes")
        }
        guard let fh = FileHandle(forReadingAtPath: path) else {
            throw DiagnosticError(file: path, "cannot open file")
        }
        defer { try? fh.close() }
        let data = (try? fh.read(upToCount: limits.maxBytes + 1)) ?? Data()
        guard data.count <= limits.maxBytes else {
            throw DiagnosticError(file: path, "file is larger than the limit of \(limits.maxBytes) bytes")
        }
        return [UInt8](data)
    }

    /// Parses `bytes` into an element tree. Rejects DTDs, entity declarations, non-UTF-8 encodings and
    /// over-deep nesting, each with a clear error; never loads anything from outside the buffer.
    public static func parse(_ bytes: [UInt8], file: String, limits: XMLLimits = .default) throws(DiagnosticError) -> XMLElement {
        try withDocument(bytes, file: file, limits: limits) { doc throws(DiagnosticError) in try tree(doc, file: file, limits: limits) }
    }

    /// Parse, validate against the schema (every schema error at once), then convert to an element tree.
    public static func load(_ bytes: [UInt8], file: String, schema: BuiltInSchema,
                            limits: XMLLimits = .default) throws(DiagnosticError) -> XMLElement {
        try withDocument(bytes, file: file, limits: limits) { doc throws(DiagnosticError) in
            let element = try tree(doc, file: file, limits: limits)   // depth limit first
            let collector = ErrorCollector(file: file)
            let (xsd, size) = schema.text
            let result = pciesim_xml_validate(doc, xsd, size, collectError, Unmanaged.passUnretained(collector).toOpaque())
            if result < 0 { throw DiagnosticError(file: file, "internal error: the built-in \(schema) schema does not compile") }
            if result > 0 || !collector.diagnostics.isEmpty {
                if collector.diagnostics.isEmpty { throw DiagnosticError(file: file, "document does not match the \(schema) schema") }
                throw DiagnosticError(collector.diagnostics)
            }
            return element
        }
    }

    private static func withDocument<T>(_ bytes: [UInt8], file: String, limits: XMLLimits,
                                        _ body: (UnsafeMutableRawPointer) throws(DiagnosticError) -> T) throws(DiagnosticError) -> T {
        guard bytes.count <= limits.maxBytes else {
            throw DiagnosticError(file: file, "input is \(bytes.count) bytes; the limit is \(limits.maxBytes) bytes")
        }
        try precheck(bytes, file: file)
        guard !bytes.isEmpty else { throw DiagnosticError(file: file, "file is empty") }
        let collector = ErrorCollector(file: file)
        let doc = bytes.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { p in
                pciesim_xml_read(p, Int32(buf.count), collectError, Unmanaged.passUnretained(collector).toOpaque())
            }
        }
        guard let doc else {
            let found = collector.diagnostics.filter { $0.severity == .error }
            throw DiagnosticError(found.isEmpty ? [Diagnostic(file: file, line: nil, message: "not well-formed XML")] : Array(found.prefix(1)))
        }
        defer { pciesim_xml_free(doc) }
        if pciesim_xml_has_dtd(doc) != 0 { throw DiagnosticError(file: file, line: 1, "DTDs are not allowed in PCIeSim files") }
        return try body(doc)
    }

    private static func tree(_ doc: UnsafeMutableRawPointer, file: String, limits: XMLLimits) throws(DiagnosticError) -> XMLElement {
        guard let root = pciesim_xml_root(doc) else { throw DiagnosticError(file: file, "document has no root element") }
        var depthError: Diagnostic?
        let tree = convert(root, depth: 1, limits: limits, file: file, depthError: &depthError)
        if let depthError { throw DiagnosticError([depthError]) }
        return tree
    }

    // MARK: - Internals

    /// Byte-level checks before libxml2 sees the input: encoding and DOCTYPE/ENTITY declarations.
    private static func precheck(_ bytes: [UInt8], file: String) throws(DiagnosticError) {
        if bytes.count >= 2, (bytes[0] == 0xFE && bytes[1] == 0xFF) || (bytes[0] == 0xFF && bytes[1] == 0xFE) {
            throw DiagnosticError(file: file, line: 1, "file is UTF-16; PCIeSim reads UTF-8 only")
        }
        var line = 1
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b == 0x0A { line += 1 } else if b == 0 {
                throw DiagnosticError(file: file, line: line, "file contains a NUL byte; PCIeSim reads UTF-8 text only")
            } else if b == 0x3C, i + 2 < n, bytes[i + 1] == 0x21, bytes[i + 2] != 0x2D, bytes[i + 2] != 0x5B {
                // "<!" not followed by "--" (comment) or "[" (CDATA): a DOCTYPE, ENTITY, ELEMENT... declaration.
                let word = String(decoding: bytes[(i + 2)..<min(n, i + 12)], as: UTF8.self)
                let kind = word.prefix { $0.isLetter }
                throw DiagnosticError(file: file, line: line,
                                      "<!\(kind)> declarations are not allowed (no DTDs or entities: they can read files or the network)")
            }
            i += 1
        }
    }

    private static func convert(_ node: UnsafeMutableRawPointer, depth: Int, limits: XMLLimits, file: String,
                                depthError: inout Diagnostic?) -> XMLElement {
        let line = pciesim_node_line(node)
        var element = XMLElement(name: String(cString: pciesim_node_name(node)), line: line)
        if depth > limits.maxDepth {
            if depthError == nil {
                depthError = Diagnostic(file: file, line: line, message: "elements nest deeper than \(limits.maxDepth) levels")
            }
            return element
        }
        var attr = pciesim_node_attributes(node)
        while let a = attr {
            let value = pciesim_attribute_value(a)
            element.attributes.append((String(cString: pciesim_attribute_name(a)), value.map { String(cString: $0) } ?? ""))
            pciesim_free(value)
            attr = pciesim_attribute_next(a)
        }
        var child = pciesim_node_children(node)
        while let c = child {
            switch pciesim_node_kind(c) {
            case 1:
                element.children.append(convert(c, depth: depth + 1, limits: limits, file: file, depthError: &depthError))
            case 3, 4:
                if let content = pciesim_node_content(c) { element.text += String(cString: content) }
            default:
                break
            }
            child = pciesim_node_next(c)
        }
        return element
    }
}

/// Receives libxml2's structured errors for one parse or validation.
final class ErrorCollector {
    let file: String
    var diagnostics: [Diagnostic] = []
    init(file: String) { self.file = file }
}

private func collectError(_ context: UnsafeMutableRawPointer?, _ line: Int32, _ level: Int32, _ message: UnsafePointer<CChar>?) {
    guard let context else { return }
    let collector = Unmanaged<ErrorCollector>.fromOpaque(context).takeUnretainedValue()
    var text = message.map { String(cString: $0) } ?? "XML error"
    while text.hasSuffix("\n") { text.removeLast() }
    collector.diagnostics.append(Diagnostic(file: collector.file, line: line > 0 ? Int(line) : nil,
                                            severity: level == 1 ? .warning : .error, message: text))
}

/// The schemas compiled into the binary.
public enum BuiltInSchema: String, Sendable {
    case topology
    case conformance
    case scenario
    case suite
    case plan
    case fidelity
    case mapping

    public var text: (pointer: UnsafePointer<UInt8>, size: Int) {
        switch self {
        case .topology: (pciesim_topology_xsd(), pciesim_topology_xsd_size())
        case .conformance: (pciesim_conformance_xsd(), pciesim_conformance_xsd_size())
        case .scenario: (pciesim_scenario_xsd(), pciesim_scenario_xsd_size())
        case .suite: (pciesim_suite_xsd(), pciesim_suite_xsd_size())
        case .plan: (pciesim_plan_xsd(), pciesim_plan_xsd_size())
        case .fidelity: (pciesim_fidelity_xsd(), pciesim_fidelity_xsd_size())
        case .mapping: (pciesim_mapping_xsd(), pciesim_mapping_xsd_size())
        }
    }
    /// The schema as a string (for `simrun schema`).
    public var string: String { String(cString: text.pointer) }
}
