// The inputs of a booted machine that move numbers but belong to no single PCIe function: CPUs, socket links, the
// kernel command line, IOMMU units (kind and booted mode), root-complex policies and caps, and per-device transport
// tuning. `simrun diff` reports them and the regression suite names the one on a flow's path.
import Sim

/// One input, as text: what it is, where it applies, and its value in words.
public struct MachineInput: Sendable, Hashable {
    /// Where an input acts, so a flow's path can be matched against it.
    public enum Scope: Sendable, Hashable, CustomStringConvertible {
        /// Every flow (the kernel command line).
        case machine
        case socket(Int)
        case socketLink(Int, Int)
        case rootComplex(String)
        case iommu(String)

        public var description: String {
            switch self {
            case .machine: "machine"
            case .socket(let s): "socket:\(s)"
            case .socketLink(let a, let b): "socket-link:\(a)-\(b)"
            case .rootComplex(let n): "root-complex:\(n)"
            case .iommu(let n): "iommu:\(n)"
            }
        }

        init?(_ text: String) {
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            switch (parts.first, parts.count) {
            case ("machine"?, 1): self = .machine
            case ("socket"?, 2): guard let s = Int(parts[1]) else { return nil }; self = .socket(s)
            case ("socket-link"?, 2):
                let ends = parts[1].split(separator: "-").compactMap { Int($0) }
                guard ends.count == 2 else { return nil }
                self = .socketLink(ends[0], ends[1])
            case ("root-complex"?, 2): self = .rootComplex(parts[1])
            case ("iommu"?, 2): self = .iommu(parts[1])
            default: return nil
            }
        }
    }

    /// What the input is, in words (`socket link 0-1`, `kernel command line`); unique within a machine.
    public var name: String
    public var scope: Scope
    /// Its value in words (`upi 20GB/s per direction (bandwidth attribute), 130ns`).
    public var value: String
    /// The `MachineChange.kind` a change of it is reported as.
    public var kind: String

    public init(name: String, scope: Scope, value: String, kind: String) {
        self.name = name
        self.scope = scope
        self.value = value
        self.kind = kind
    }
}

extension MachineInput {
    /// Every input of a booted machine, in a fixed order: kernel, sockets, socket links, IOMMUs, root complexes.
    static func inputs(_ semantics: Semantics) -> [MachineInput] {
        let t = semantics.loaded.topology
        var out: [MachineInput] = []
        out.append(MachineInput(name: "kernel command line", scope: .machine,
                                value: "'\(t.kernel.commandLine)' (kernel \(t.kernel.version.rawValue))", kind: "kernel"))
        for s in t.sockets.sorted(by: { $0.id < $1.id }) {
            var v = "\(s.cpuVendor.rawValue) family \(hexOrDecimal(s.cpuFamily))" + (s.cpuModel.map { " model \(hexOrDecimal($0))" } ?? "")
            if let row = PlatformDefaults.row(for: s) { v += " (\(row.name))" }
            if let m = s.memoryLatency { v += ", memory latency \(Duration.format(m))" }
            out.append(MachineInput(name: "CPU of socket \(s.id)", scope: .socket(s.id), value: v, kind: "cpu"))
        }
        for l in t.socketLinks {
            let forward = t.socketLinkBandwidth(from: l.a, to: l.b)
            let backward = t.socketLinkBandwidth(from: l.b, to: l.a)
            func rate(_ r: SourcedRate?) -> String { r?.text ?? "no rate" }
            let rates = forward == backward ? rate(forward) : "\(l.a)->\(l.b) \(rate(forward)), \(l.b)->\(l.a) \(rate(backward))"
            out.append(MachineInput(name: "socket link \(l.a)-\(l.b)", scope: .socketLink(l.a, l.b),
                                    value: "\(l.kind.rawValue) \(rates), latency \(Duration.format(l.latency))", kind: "socket-link"))
        }
        for u in t.iommus {
            let walk = t.iommuWalk(u)
            let v = "\(u.kind.rawValue) mode \(u.mode.rawValue), IOTLB \(u.iotlbEntries) entries \(u.iotlbWays)-way, walk \(u.walkLevels) levels x "
                + "\(Duration.format(walk.latencyPerLevel)) (\(walk.origin)), \(walk.walkers) walks in flight, pages \(u.pageSizes.map { ByteSize.format($0) }.joined(separator: ","))"
            out.append(MachineInput(name: "IOMMU \(u.name)", scope: .iommu(u.name), value: v, kind: "iommu"))
        }
        for (r, rc) in t.rootComplexes.enumerated() {
            var v = "socket \(rc.socket), host bridge \(rc.hostBridgeID.map { "\($0)" } ?? "none"), IOMMU \(rc.iommu ?? "none"), p2p \(rc.p2pForwarding.rawValue)"
            if let cap = t.rootComplexP2PRateCap(r) { v += ", p2p cap \(cap.text)" }
            if let l = rc.p2pLatency { v += ", p2p latency \(Duration.format(l))" }
            if let cap = t.rootComplexDMACap(r) { v += ", dma cap \(cap.rate) (\(cap.origin))" }
            if !rc.parameters.isEmpty { v += ", params " + rc.parameters.map { "\($0.name)=\($0.value)" }.joined(separator: " ") }
            out.append(MachineInput(name: "root complex \(rc.name)", scope: .rootComplex(rc.name), value: v, kind: "root-complex"))
        }
        return out
    }

    static func hexOrDecimal(_ v: Int) -> String { v >= 0x10 ? "0x" + String(v, radix: 16) : String(v) }
}

extension MachineFacts {
    /// The scopes a flow between two devices (or a device and host memory, `y == x`) passes: the machine, each
    /// side's root complex, its IOMMU and socket, and, when the sides are on different sockets, the socket links
    /// between them.
    func pathScopes(_ x: String, _ y: String, _ after: MachineFacts) -> Set<MachineInput.Scope> {
        var scopes: Set<MachineInput.Scope> = [.machine]
        var sockets: Set<Int> = []
        for d in [x, y] {
            for m in [self, after] {
                guard let f = m.devices[d] else { continue }
                scopes.insert(.rootComplex(f.rootComplex))
                scopes.insert(.socket(f.socket))
                if let u = m.rootComplexIOMMU[f.rootComplex] { scopes.insert(.iommu(u)) }
                sockets.insert(f.socket)
            }
        }
        if sockets.count > 1 {
            for s in [self, after].flatMap(\.inputs) {
                if case .socketLink(let a, let b) = s.scope, sockets.contains(a) || sockets.contains(b) { scopes.insert(s.scope) }
            }
        }
        return scopes
    }

    /// Inputs whose value changed from `self` to `after` (added and removed ones too), in words.
    func inputChanges(to after: MachineFacts) -> [(input: MachineInput, text: String)] {
        guard hasInputs, after.hasInputs else { return [] }
        var out: [(MachineInput, String)] = []
        let now = Dictionary(after.inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let old = Set(inputs.map(\.name))
        for i in inputs {
            guard let n = now[i.name] else { out.append((i, "\(i.name) removed (was \(i.value))")); continue }
            if n.value != i.value { out.append((n, "\(i.name): \(i.value) -> \(n.value)")) }
        }
        for n in after.inputs where !old.contains(n.name) { out.append((n, "\(n.name) added: \(n.value)")) }
        return out
    }

    /// Changed inputs on the path between two devices, in words.
    func pathInputCauses(_ x: String, _ y: String, _ after: MachineFacts) -> [String] {
        let scopes = pathScopes(x, y, after)
        return inputChanges(to: after).filter { scopes.contains($0.input.scope) }.map(\.text)
    }
}
