// Fidelity suites (fidelity/fidelity.xsd): published hardware measurements of real machines. Each case names the
// machine (a topology modelled on its public description), a scenario that does what the measuring tool does, which
// flows of the run the figure reads, the published figure with its source, and a tolerance band. Read with the
// hardened reader and `file:line: error:` messages like every other input.
import Foundation
import Sim

public struct FidelityMachine: Sendable {
    public var id: String
    public var line: Int
    /// Resolved path of the machine's topology.
    public var topology: String
    public var cpu: String
    public var cpuVendor: String
    public var generation: Int
    public var switchChip: String
    public var iommu: String
    public var source: String
    public var description: String
}

public struct FidelityCase: Sendable {
    public enum Metric: String, Sendable { case throughput, latency }
    public enum Aggregate: String, Sendable { case sum, mean, min, max }
    public var id: String
    public var line: Int
    public var machine: String
    /// A built-in scenario name, or a resolved scenario file path.
    public var scenario: String
    public var metric: Metric
    public var phase: String
    /// Glob on the phase's kind (several phases of one scenario can share a name).
    public var kind: String
    public var flow: String
    public var aggregate: Aggregate
    /// GB/s for throughput, nanoseconds for latency.
    public var published: Double
    /// The published figure as written.
    public var publishedText: String
    /// Relative half-width of the band (0.07 = ±7 %).
    public var tolerance: Double
    public var tool: String
    public var source: String
    public var location: String?
    public var options: ScenarioOptions
    public var cmdline: String?
    public var optionText: [(String, String)]
    /// Known to fall outside the band, and why.
    public var outsideBandReason: String?
    /// The default this measurement was derived into (fidelity/derivation.tsv); nil: a check case.
    public var derives: String?

    /// The unit the published and simulated figures are printed in.
    public var unit: String { metric == .throughput ? "GB/s" : "us" }
    /// A figure in the case's printed unit.
    public func printed(_ value: Double) -> Double { metric == .throughput ? value : value / 1000 }
}

public struct FidelitySuite: Sendable {
    public var name: String
    public var file: String
    public var machines: [FidelityMachine]
    public var cases: [FidelityCase]

    public static let defaultThroughputTolerance = 0.07
    public static let defaultLatencyTolerance = 0.20

    public static func read(path: String) throws(DiagnosticError) -> FidelitySuite {
        try parse(try SafeXML.readFile(path), file: path)
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(DiagnosticError) -> FidelitySuite {
        let root = try SafeXML.load(bytes, file: file, schema: .fidelity)
        let dir = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : normalizedPath(dir + "/" + p) }
        var bag = DiagnosticBag(file: file)
        var machines: [FidelityMachine] = []
        for m in root.children(named: "machine") {
            let id = m["id"] ?? ""
            if machines.contains(where: { $0.id == id }) { bag.error(m.line, "duplicate machine id '\(id)'") }
            machines.append(FidelityMachine(
                id: id, line: m.line, topology: resolve(m["topology"] ?? ""), cpu: m["cpu"] ?? "", cpuVendor: m["cpu-vendor"] ?? "",
                generation: Int(m["gen"] ?? "") ?? 0, switchChip: m["switch"] ?? "none", iommu: m["iommu"] ?? "unknown",
                source: m["source"] ?? "", description: String(m.text.trimmingSpaces)))
        }
        var cases: [FidelityCase] = []
        var ids = Set<String>()
        for c in root.children(named: "case") {
            let id = c["id"] ?? ""
            if !ids.insert(id).inserted { bag.error(c.line, "duplicate case id '\(id)'") }
            let machine = c["machine"] ?? ""
            if !machines.contains(where: { $0.id == machine }) { bag.error(c.line, "case '\(id)' names machine '\(machine)', which no <machine> defines") }
            let metric = FidelityCase.Metric(rawValue: c["metric"] ?? "") ?? .throughput
            let publishedText = c["published"] ?? ""
            var published = 0.0
            switch metric {
            case .throughput:
                if let r = DataRate.parse(publishedText), r.bytesPerSecond > 0 { published = r.bytesPerSecond / 1e9 } else {
                    bag.error(c.line, "published=\"\(publishedText)\" is not a positive rate (e.g. 12.5GB/s)")
                }
            case .latency:
                if let t = Duration.parse(publishedText), t > 0 { published = Double(t) / 1000 } else {
                    bag.error(c.line, "published=\"\(publishedText)\" is not a positive duration (e.g. 0.45us)")
                }
            }
            let tolerance = c["tolerance"].flatMap { Double($0.dropLast()) }.map { $0 / 100 }
                ?? (metric == .throughput ? defaultThroughputTolerance : defaultLatencyTolerance)
            if tolerance <= 0 { bag.error(c.line, "tolerance must be positive") }
            var options = ScenarioOptions()
            var cmdline: String?
            var optionText: [(String, String)] = []
            for o in c.children(named: "option") {
                let v = o["value"] ?? ""
                let name = o["name"] ?? ""
                optionText.append((name, v))
                func size(_ t: String) -> Int? {
                    guard let b = ByteSize.parse(t), b > 0, b <= 1 << 40 else { bag.error(o.line, "option \(name): '\(t)' is not a size"); return nil }
                    return Int(b)
                }
                switch name {
                case "size": options.size = size(v)
                case "devices": options.devices = v.split(separator: ",").map { String($0.trimmingSpaces) }
                case "queue-depth":
                    if let q = Int(v), q > 0, q <= 1 << 16 { options.queueDepth = q } else { bag.error(o.line, "option queue-depth: '\(v)' is not an integer from 1 to 65536") }
                case "page-size":
                    options.pageBytes = size(v)
                    if let p = options.pageBytes, p != 4096, p != 2 << 20, p != 1 << 30 { bag.error(o.line, "option page-size: '\(v)' is not 4K, 2M or 1G") }
                case "read":
                    guard v == "true" || v == "false" else { bag.error(o.line, "option read: '\(v)' is not true or false"); break }
                    options.operation = v == "true" ? .read : .write
                case "cmdline": cmdline = v
                default: bag.error(o.line, "unknown option '\(name)'")
                }
            }
            let scenario = c["scenario"] ?? ""
            cases.append(FidelityCase(
                id: id, line: c.line, machine: machine,
                scenario: BuiltInScenario(rawValue: scenario) == nil ? resolve(scenario) : scenario,
                metric: metric, phase: c["phase"] ?? "*", kind: c["kind"] ?? "*", flow: c["flow"] ?? "*",
                aggregate: FidelityCase.Aggregate(rawValue: c["aggregate"] ?? "sum") ?? .sum,
                published: published, publishedText: publishedText, tolerance: tolerance, tool: c["tool"] ?? "",
                source: c["source"] ?? "", location: c["location"], options: options, cmdline: cmdline, optionText: optionText,
                outsideBandReason: c.children(named: "outside-band").first?["reason"], derives: c["derives"]))
        }
        if !bag.diagnostics.isEmpty { throw DiagnosticError(bag.diagnostics) }
        return FidelitySuite(name: root["name"] ?? "fidelity", file: file, machines: machines, cases: cases)
    }

    public func machine(_ id: String) -> FidelityMachine? { machines.first { $0.id == id } }
}
