// A topology read from a file (or built in memory) together with its enumeration.

/// The usual starting point: read, check and enumerate in one call.
public struct LoadedTopology: Sendable {
    public var topology: Topology
    public var source: SourceMap
    public var enumeration: Enumeration

    public init(document: TopologyDocument) throws(DiagnosticError) {
        topology = document.topology
        source = document.source
        enumeration = try Enumerator.enumerate(document)
    }

    public init(topology: Topology) throws(DiagnosticError) {
        self.topology = topology
        source = SourceMap(file: "<\(topology.name)>")
        enumeration = try Enumerator.enumerate(topology, source: source)
    }

    /// Reads, validates against the schema, checks and enumerates a topology file.
    public static func load(path: String, limits: XMLLimits = .default) throws(DiagnosticError) -> LoadedTopology {
        try LoadedTopology(document: TopologyReader.read(path: path, limits: limits))
    }

    public var warnings: [Diagnostic] { enumeration.warnings }
}
