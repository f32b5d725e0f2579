// Diagnostics: every problem found in an input file, rendered `file:line: error: message`.

/// One problem (or warning) in an input, located by file and line.
public struct Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        case error, warning, note
    }
    public var file: String
    public var line: Int?
    public var severity: Severity
    public var message: String

    public init(file: String, line: Int?, severity: Severity = .error, message: String) {
        self.file = file
        self.line = line
        self.severity = severity
        self.message = message
    }

    /// `file:line: error: message`, the format compilers use and editors jump to.
    public var description: String {
        if let line, line > 0 { return "\(file):\(line): \(severity.rawValue): \(message)" }
        return "\(file): \(severity.rawValue): \(message)"
    }
}

/// Thrown when an input has errors: carries every diagnostic found (errors and warnings), in file order.
public struct DiagnosticError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public init(file: String, line: Int? = nil, _ message: String) {
        self.diagnostics = [Diagnostic(file: file, line: line, message: message)]
    }
    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics while a reader or checker walks an input.
public struct DiagnosticBag: Sendable {
    public var file: String
    public private(set) var diagnostics: [Diagnostic] = []
    public init(file: String) { self.file = file }

    public mutating func error(_ line: Int?, _ message: String) {
        diagnostics.append(Diagnostic(file: file, line: line, severity: .error, message: message))
    }
    public mutating func warning(_ line: Int?, _ message: String) {
        diagnostics.append(Diagnostic(file: file, line: line, severity: .warning, message: message))
    }
    public mutating func append(contentsOf other: [Diagnostic]) { diagnostics.append(contentsOf: other) }
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }

    /// Diagnostics ordered by line (stable), for output in file order.
    public var sorted: [Diagnostic] {
        diagnostics.enumerated().sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }.map(\.element)
    }
    /// Throws every diagnostic when any is an error.
    public func throwIfErrors() throws(DiagnosticError) {
        if hasErrors { throw DiagnosticError(sorted) }
    }
}
