// Conformance cases as files: a topology, the calls, and the answers Linux gives (conformance/conformance.xsd).
import Foundation
import Sim

/// One expectation of a case, with its source line.
public enum ConformanceExpectation: Sendable, Hashable {
    /// `pci_p2pdma_map_type` / `calc_map_type_and_dist` for a pair, with the warning lines (exact or subset).
    case p2p(provider: String, client: String, mapType: P2PMapType, distance: Int, warnings: [String], exactWarnings: Bool)
    /// `pci_p2pdma_distance_many`.
    case distanceMany(provider: String, clients: [String], distance: Int, verbose: Bool, warnings: [String])
    /// These devices form exactly one IOMMU group.
    case group([String])
    /// ACS control word after boot (nil: no ACS capability).
    case acs(device: String, control: UInt16?)
    /// A TLP's route: direct, redirected (at a port), or blocked (at a port, for a reason).
    case route(RouteExpectation)
    /// A kernel log line printed at boot.
    case log(String)
}

public struct RouteExpectation: Sendable, Hashable {
    public enum Outcome: String, Sendable { case direct, redirected, blocked }
    public var from: String
    public var to: String
    public var isRead: Bool
    public var addressType: AddressType
    public var relaxedOrdering: Bool
    public var outcome: Outcome
    public var port: String?
    public var reason: String?
    public var completion: String
}

public struct ConformanceCase: Sendable {
    public var id: String
    public var file: String
    public var topologyPath: String
    public var source: String?
    public var description: String?
    public var kernel: KernelConfiguration?
    /// The kernel versions the case runs under (`<kernel version="5.10 6.1">`); empty: the topology's own, or
    /// `kernel.version` when the case names one version.
    public var versions: [KernelVersion] = []
    public var expectations: [(line: Int, expectation: ConformanceExpectation)]

    /// The case once per kernel version it names (`id@version`), or itself when it names at most one.
    public var perVersion: [ConformanceCase] {
        guard versions.count > 1, let k = kernel else { return [self] }
        return versions.map { v in
            var c = self
            c.id = "\(id)@\(v)"
            c.kernel = KernelConfiguration(commandLine: k.commandLine, version: v)
            c.versions = []
            return c
        }
    }

    /// The kernel version this case (one of `perVersion`) runs under: its `<kernel version>`, else mainline.
    public var version: KernelVersion { kernel?.version ?? .mainline }

    /// Reads and validates a case file (same hardened reader and `file:line: error:` messages as topologies).
    public static func read(path: String) throws(DiagnosticError) -> ConformanceCase {
        let bytes = try SafeXML.readFile(path)
        let root = try SafeXML.load(bytes, file: path, schema: .conformance)
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        var c = ConformanceCase(id: root["id"] ?? "", file: path,
                                topologyPath: dir.appendingPathComponent(root["topology"] ?? "").path,
                                source: root["source"], description: nil, kernel: nil, expectations: [])
        var bag = DiagnosticBag(file: path)
        for e in root.children {
            switch e.name {
            case "description": c.description = String(e.text.trimmingSpaces)
            case "kernel":
                var versions: [KernelVersion] = []
                for word in (e["version"] ?? "mainline").split(separator: " ").map(String.init) {
                    switch KernelVersion.parse(word) {
                    case .success(let v):
                        if versions.contains(v) { bag.error(e.line, "version: \(word) is listed twice") } else { versions.append(v) }
                    case .failure(let why): bag.error(e.line, "version: \(why)")
                    }
                }
                c.kernel = KernelConfiguration(commandLine: e["cmdline"] ?? "", version: versions.first ?? .mainline)
                c.versions = versions.count > 1 ? versions : []
            case "p2p":
                guard let type = P2PMapType(e["map-type"] ?? "") else { bag.error(e.line, "unknown map type"); continue }
                c.expectations.append((e.line, .p2p(provider: e["provider"] ?? "", client: e["client"] ?? "", mapType: type,
                                                    distance: Int(e["distance"] ?? "") ?? 0,
                                                    warnings: e.children(named: "warning").map { String($0.text.trimmingSpaces) },
                                                    exactWarnings: (e["warnings"] ?? "exact") == "exact")))
            case "distance-many":
                c.expectations.append((e.line, .distanceMany(provider: e["provider"] ?? "", clients: (e["clients"] ?? "").split(separator: " ").map(String.init),
                                                             distance: Int(e["distance"] ?? "") ?? 0, verbose: e["verbose"] == "true",
                                                             warnings: e.children(named: "warning").map { String($0.text.trimmingSpaces) })))
            case "group":
                c.expectations.append((e.line, .group((e["devices"] ?? "").split(separator: " ").map(String.init))))
            case "acs":
                let v = e["ctrl"] ?? "none"
                c.expectations.append((e.line, .acs(device: e["device"] ?? "", control: v == "none" ? nil : UInt16(v.dropFirst(2), radix: 16))))
            case "route":
                let at: AddressType = switch e["at"] ?? "untranslated" {
                case "translated": .translated
                case "translation-request": .translationRequest
                default: .untranslated
                }
                c.expectations.append((e.line, .route(RouteExpectation(
                    from: e["from"] ?? "", to: e["to"] ?? "", isRead: e["kind"] == "read", addressType: at,
                    relaxedOrdering: e["relaxed-ordering"] == "true",
                    outcome: RouteExpectation.Outcome(rawValue: e["outcome"] ?? "") ?? .direct,
                    port: e["port"], reason: e["reason"], completion: e["completion"] ?? "any"))))
            case "log":
                c.expectations.append((e.line, .log(String(e.text.trimmingSpaces))))
            default:
                bag.error(e.line, "unexpected element <\(e.name)>")
            }
        }
        try bag.throwIfErrors()
        return c
    }
}
