// Runs conformance cases against the simulated backend (every expectation) or a real machine's sysfs (groups).
import Sim

/// The verdict of one expectation.
public struct ConformanceCheck: Sendable, Hashable {
    public enum Verdict: String, Sendable { case pass, fail, skip }
    public var caseID: String
    public var file: String
    public var line: Int
    public var what: String
    public var verdict: Verdict
    /// For a failure: expected and actual, in words.
    public var detail: String
}

public enum ConformanceRunner {
    /// Runs every expectation of a case against the simulated machine, once per kernel version it names
    /// (`only`: just the instances of that version).
    public static func run(_ c: ConformanceCase, only: KernelVersion? = nil) -> [ConformanceCheck] {
        c.perVersion.filter { only == nil || $0.version == only }.flatMap(runOnce)
    }

    static func runOnce(_ c: ConformanceCase) -> [ConformanceCheck] {
        let loaded: LoadedTopology
        switch Result(catching: { () throws(DiagnosticError) in try LoadedTopology.load(path: c.topologyPath) }) {
        case .success(let l): loaded = l
        case .failure(let error):
            return [ConformanceCheck(caseID: c.id, file: c.file, line: 1, what: "topology \(c.topologyPath)", verdict: .fail,
                                     detail: error.description)]
        }
        let semantics = Semantics(loaded, options: SemanticsOptions(kernel: c.kernel))
        let fabric = Fabric(semantics)
        let router = Router(fabric)
        let e = loaded.enumeration
        var out: [ConformanceCheck] = []
        func check(_ line: Int, _ what: String, _ ok: Bool, _ detail: @autoclosure () -> String) {
            out.append(ConformanceCheck(caseID: c.id, file: c.file, line: line, what: what, verdict: ok ? .pass : .fail, detail: ok ? "" : detail()))
        }
        func resolve(_ name: String, _ line: Int) -> Int? {
            if let f = e.lookup(name) { return f }
            out.append(ConformanceCheck(caseID: c.id, file: c.file, line: line, what: "device \(name)", verdict: .fail,
                                        detail: "no device '\(name)' in \(c.topologyPath)"))
            return nil
        }
        for (line, expectation) in c.expectations {
            switch expectation {
            case let .p2p(provider, client, mapType, distance, warnings, exact):
                guard let p = resolve(provider, line), let cl = resolve(client, line) else { continue }
                let r = semantics.p2pdma(provider: p, client: cl, verbose: true)
                check(line, "p2p \(provider) -> \(client) map type", r.mapType == mapType, "expected \(mapType.kernelName), got \(r.mapType.kernelName)")
                check(line, "p2p \(provider) -> \(client) distance", r.distance == distance, "expected \(distance), got \(r.distance)")
                let warningsOK = exact ? r.warnings == warnings : warnings.allSatisfy(r.warnings.contains)
                check(line, "p2p \(provider) -> \(client) warnings", warningsOK,
                      "expected:\n    " + warnings.joined(separator: "\n    ") + "\n  got:\n    " + r.warnings.joined(separator: "\n    "))
            case let .distanceMany(provider, clients, distance, verbose, warnings):
                guard let p = resolve(provider, line) else { continue }
                var list: [P2PClient] = []
                for name in clients {
                    if name.hasPrefix("platform:") { list.append(.nonPCI(name: String(name.dropFirst(9)))) } else if let f = resolve(name, line) { list.append(.function(f)) }
                }
                let r = semantics.distanceMany(provider: p, clients: list, verbose: verbose)
                check(line, "distance_many \(provider)", r.distance == distance, "expected \(distance), got \(r.distance)")
                if !warnings.isEmpty {
                    check(line, "distance_many \(provider) warnings", warnings.allSatisfy(r.warnings.contains),
                          "expected lines missing:\n    " + warnings.filter { !r.warnings.contains($0) }.joined(separator: "\n    "))
                }
            case .group(let names):
                let fs = names.compactMap { resolve($0, line) }
                guard fs.count == names.count else { continue }
                let numbers = Set(fs.map { semantics.groupNumbers[$0] })
                var members: [Int] = []
                if numbers.count == 1, let only = numbers.first, let n = only {
                    members = semantics.groupNumbers.indices.filter { semantics.groupNumbers[$0] == n }
                }
                let ok = !members.isEmpty && Set(members) == Set(fs)
                check(line, "group {\(names.joined(separator: ", "))}", ok,
                      "groups: " + fs.map { "\(e.functions[$0].name)=\(semantics.groupNumbers[$0].map(String.init) ?? "none")" }.joined(separator: " ")
                        + (members.isEmpty ? "" : "; group members: " + members.map { e.functions[$0].name }.joined(separator: " ")))
            case let .acs(device, control):
                guard let f = resolve(device, line) else { continue }
                let actual = semantics.acsControlWord[f]
                check(line, "ACS control of \(device)", actual == control,
                      "expected \(control.map { "0x" + hex($0, 4) } ?? "none"), got \(actual.map { "0x" + hex($0, 4) } ?? "none")")
            case .route(let r):
                guard let from = resolve(r.from, line), let to = resolve(r.to, line), let address = fabric.defaultTargetAddress(function: to) else { continue }
                let route = router.route(TLPRequest(kind: r.isRead ? .memoryRead : .memoryWrite, requester: from, address: address,
                                                    addressType: r.addressType, relaxedOrdering: r.relaxedOrdering))
                let what = "route \(r.from) -> \(r.to) (\(r.isRead ? "read" : "write"), \(r.addressType.text))"
                let actual = describe(route, fabric)
                switch r.outcome {
                case .direct:
                    check(line, what, route.isDelivered && !route.throughRootComplex,
                          "expected direct, got \(actual)")
                case .redirected:
                    let port = r.port.flatMap { e.lookup($0) }
                    check(line, what, route.isDelivered && route.throughRootComplex && (port == nil || route.redirectedAt.contains(port!)),
                          "expected redirected\(r.port.map { " at \($0)" } ?? ""), got \(actual)")
                case .blocked:
                    var ok = false
                    if case .blocked(let at, let reason) = route.outcome {
                        ok = (r.reason == nil || reasonCode(reason) == r.reason) && (r.port == nil || location(at, fabric) == r.port || locationBDF(at, fabric) == r.port)
                    }
                    check(line, what, ok, "expected blocked\(r.port.map { " at \($0)" } ?? "")\(r.reason.map { " by \($0)" } ?? ""), got \(actual)")
                }
                if r.completion != "any", r.isRead {
                    let redirected = route.completionHops.contains { if case .redirect = $0.action { return true } else { return false } }
                    check(line, what + " completion", redirected == (r.completion == "redirected"),
                          "expected completion \(r.completion), got \(redirected ? "redirected" : "direct")")
                }
            case .log(let text):
                check(line, "kernel log line", semantics.kernelLog.contains(text),
                      "missing: \(text)\n  log:\n    " + semantics.kernelLog.joined(separator: "\n    "))
            }
        }
        return out
    }

    static func reasonCode(_ r: BlockReason) -> String {
        switch r {
        case .acsViolation(let bit): bit == .sourceValidation ? "SV" : bit == .translationBlocking ? "TB" : "EC"
        case .upstreamForwardingDisabled: "UF"
        case .rootComplexUnsupported: "rc-unsupported"
        case .rootComplexWritesOnly: "rc-writes-only"
        case .rootComplexDrops: "rc-drop"
        case .unclaimed: "unclaimed"
        case .iommuFault: "iommu-fault"
        }
    }

    static func location(_ l: HopLocation, _ fabric: Fabric) -> String {
        switch l {
        case .function(let f): fabric.name(f)
        case .rootComplex(let r): "rc:" + fabric.topology.rootComplexes[r].name
        case .socketLink(let a, let b): "socket:\(a)-\(b)"
        case .switchChip(let c): "chip:" + fabric.topology.switchChips[c].name
        case .chipLink(let a, let b): "chip:\(fabric.topology.switchChips[a].name)-\(fabric.topology.switchChips[b].name)"
        }
    }
    static func locationBDF(_ l: HopLocation, _ fabric: Fabric) -> String? {
        if case .function(let f) = l { return fabric.bdf(f).description }
        return nil
    }

    static func describe(_ route: Route, _ fabric: Fabric) -> String {
        switch route.outcome {
        case .delivered:
            return route.throughRootComplex ? "delivered through the root complex (redirect at \(route.redirectedAt.map { fabric.name($0) }))" : "delivered directly"
        case .blocked(let at, let reason):
            return "blocked at \(location(at, fabric)) by \(reasonCode(reason))"
        }
    }

    /// The pass/fail table `simrun conformance` prints.
    public static func table(_ checks: [ConformanceCheck]) -> String {
        var out = ""
        var byCase: [(String, [ConformanceCheck])] = []
        for c in checks {
            if let i = byCase.firstIndex(where: { $0.0 == c.caseID }) { byCase[i].1.append(c) } else { byCase.append((c.caseID, [c])) }
        }
        for (id, list) in byCase {
            let failed = list.filter { $0.verdict == .fail }
            let passed = list.filter { $0.verdict == .pass }.count
            out += "\(failed.isEmpty ? "PASS" : "FAIL")  \(id.padding(toLength: max(id.count, 6), withPad: " ", startingAt: 0))  \(passed)/\(list.count) checks\n"
            for f in failed { out += "      \(f.file):\(f.line): \(f.what): \(f.detail)\n" }
        }
        let cases = byCase.count
        let failedCases = byCase.filter { $0.1.contains { $0.verdict == .fail } }.count
        out += "\(cases - failedCases) passed, \(failedCases) failed\n"
        return out
    }
}
