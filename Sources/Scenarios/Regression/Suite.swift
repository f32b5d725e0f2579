// Regression suites (reports/suite.xsd): cases of topology x scenario with exact and numeric expectations and a
// baseline. Read with the hardened reader and `file:line: error:` messages like every other input.
import Foundation
import Sim

public struct SuiteCase: Sendable {
    public enum Expectation: Sendable, Hashable {
        case p2p(provider: String, client: String, mapType: P2PMapType, distance: Int?)
        case group([String])
        case works(from: String, to: String)
        case blocked(from: String, to: String, port: String, rule: String?)
        case throughput(flow: String, minimum: DataRate)
        case latency(flow: String, p99Maximum: Picoseconds)
    }
    public var name: String
    public var line: Int
    /// Absolute or suite-relative paths, resolved.
    public var topology: String
    public var scenario: String
    public var options: ScenarioOptions
    public var cmdline: String?
    /// The kernel version the case boots with (from `kernels=`; nil: the topology's `<kernel version>`).
    public var kernel: KernelVersion? = nil
    public var seed: UInt64
    public var baseline: String?
    /// Relative tolerance of throughput against the baseline (0.02 = 2 %).
    public var tolerance: Double
    public var expectations: [(line: Int, expectation: Expectation)]
    /// The options as written (for the baseline header).
    public var optionText: [(String, String)]
}

public struct Suite: Sendable {
    public var name: String
    public var file: String
    public var cases: [SuiteCase]
    public init(name: String, file: String, cases: [SuiteCase]) {
        self.name = name
        self.file = file
        self.cases = cases
    }

    public static func read(path: String) throws(DiagnosticError) -> Suite {
        let bytes = try SafeXML.readFile(path)
        return try parse(bytes, file: path)
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(DiagnosticError) -> Suite {
        let root = try SafeXML.load(bytes, file: file, schema: .suite)
        // Paths relative to the suite file, kept relative to the working directory when the suite's path is.
        let dir = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : normalizedPath(dir + "/" + p) }
        var bag = DiagnosticBag(file: file)
        var cases: [SuiteCase] = []
        var names = Set<String>()
        for c in root.children(named: "case") {
            let name = c["name"] ?? ""
            if !names.insert(name).inserted { bag.error(c.line, "duplicate case name '\(name)'") }
            var options = ScenarioOptions()
            var cmdline: String?
            var optionText: [(String, String)] = []
            for o in c.children(named: "option") {
                let v = o["value"] ?? ""
                optionText.append((o["name"] ?? "", v))
                func size(_ t: String) -> Int? {
                    guard let b = ByteSize.parse(t), b > 0, b <= 1 << 40 else { bag.error(o.line, "option \(o["name"] ?? ""): '\(t)' is not a size"); return nil }
                    return Int(b)
                }
                switch o["name"] ?? "" {
                case "size": options.size = size(v)
                case "devices": options.devices = v.split(separator: ",").map { String($0.trimmingSpaces) }
                case "queue-depth":
                    if let q = Int(v), q > 0 { options.queueDepth = q } else { bag.error(o.line, "option queue-depth: '\(v)' is not a positive integer") }
                case "page-size": options.pageBytes = size(v)
                case "working-sets": options.workingSets = v.split(separator: ",").compactMap { size(String($0)) }
                case "ats": options.ats = v == "true" || v == "on"
                case "read": options.operation = v == "true" || v == "on" ? .read : .write
                case "cmdline": cmdline = v
                default: break
                }
            }
            var expectations: [(Int, SuiteCase.Expectation)] = []
            for e in c.children where e.name.hasPrefix("expect-") {
                switch e.name {
                case "expect-p2p":
                    guard let t = P2PMapType(e["map-type"] ?? "") else { bag.error(e.line, "unknown map type"); continue }
                    expectations.append((e.line, .p2p(provider: e["provider"] ?? "", client: e["client"] ?? "", mapType: t, distance: e["distance"].flatMap { Int($0) })))
                case "expect-group":
                    expectations.append((e.line, .group((e["devices"] ?? "").split(separator: " ").map(String.init))))
                case "expect-works":
                    expectations.append((e.line, .works(from: e["from"] ?? "", to: e["to"] ?? "")))
                case "expect-blocked":
                    expectations.append((e.line, .blocked(from: e["from"] ?? "", to: e["to"] ?? "", port: e["port"] ?? "", rule: e["rule"])))
                case "expect-throughput":
                    guard let r = DataRate.parse(e["min"] ?? "") else { bag.error(e.line, "min=\"\(e["min"] ?? "")\" is not a rate"); continue }
                    expectations.append((e.line, .throughput(flow: e["flow"] ?? "", minimum: r)))
                case "expect-latency":
                    guard let t = Duration.parse(e["p99-max"] ?? "") else { bag.error(e.line, "p99-max=\"\(e["p99-max"] ?? "")\" is not a time"); continue }
                    expectations.append((e.line, .latency(flow: e["flow"] ?? "", p99Maximum: t)))
                default: break
                }
            }
            let scenario = c["scenario"] ?? ""
            let scenarioPath = BuiltInScenario(rawValue: scenario) == nil ? resolve(scenario) : scenario
            let tolerance = Double((c["tolerance"] ?? "2%").dropLast()).map { $0 / 100 } ?? 0.02
            let base = SuiteCase(name: name, line: c.line, topology: resolve(c["topology"] ?? ""), scenario: scenarioPath, options: options,
                                 cmdline: cmdline, seed: UInt64(c["seed"] ?? "1") ?? 1, baseline: c["baseline"].map(resolve),
                                 tolerance: tolerance, expectations: expectations, optionText: optionText)
            // kernels="5.15 6.12": the case once per kernel version, named NAME@VERSION, every expectation
            // checked under each; a baseline gets one file per version (NAME.json -> NAME@VERSION.json).
            guard let list = c["kernels"] else { cases.append(base); continue }
            var versions: [KernelVersion] = []
            for word in list.split(separator: " ").map(String.init) {
                switch KernelVersion.parse(word) {
                case .success(let v):
                    if versions.contains(v) { bag.error(c.line, "kernels: \(word) is listed twice") } else { versions.append(v) }
                case .failure(let why): bag.error(c.line, "kernels: \(why)")
                }
            }
            for v in versions {
                var k = base
                k.name = "\(name)@\(v)"
                k.kernel = v
                k.optionText.append(("kernel", v.rawValue))
                if let b = base.baseline {
                    let dot = b.hasSuffix(".json") ? b.index(b.endIndex, offsetBy: -5) : b.endIndex
                    k.baseline = String(b[..<dot]) + "@\(v)" + String(b[dot...])
                }
                cases.append(k)
            }
        }
        if !bag.diagnostics.isEmpty { throw DiagnosticError(bag.diagnostics) }
        return Suite(name: root["name"] ?? "suite", file: file, cases: cases)
    }
}
