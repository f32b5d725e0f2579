// The facts of a booted machine that decide P2P: where each device sits, its trained link, its ACS after boot,
// its IOMMU group partners, and the p2pdma verdict of every endpoint pair. `simrun diff` compares two machines
// with them, and the regression suite explains a changed result by the facts that changed on its path.
import Sim

public struct DeviceFacts: Sendable, Hashable {
    public var name: String
    public var bdf: String
    public var kind: String
    /// Name of the bridge above (nil on a root bus).
    public var parent: String?
    public var rootComplex: String
    public var socket: Int
    /// Trained link to the port above (`Gen4 x16`), nil on a root bus.
    public var link: String?
    /// ACS capability and control after Linux's boot-time enable, as `SV+ TB- RR+ ...`; nil without ACS.
    public var acsCapability: UInt16?
    public var acsControl: UInt16?
    /// Names of the bridges above, nearest first.
    public var ancestors: [String]
    /// The other members of its IOMMU group (sorted), nil when not behind an active IOMMU.
    public var groupPartners: [String]?
    /// What the transport model reads from the device besides its link: `<param>`s, a switch's latency, an
    /// endpoint's DMA engine (`` when none); nil when not known (a baseline written before it was recorded).
    public var tuning: String? = nil
}

public struct MachineFacts: Sendable {
    public var devices: [String: DeviceFacts]
    /// Device names in BDF order.
    public var order: [String]
    /// `provider|client` -> (map type, distance), endpoints only.
    public var p2p: [String: (mapType: P2PMapType, distance: Int)]
    public var endpoints: [String]
    /// The machine-wide inputs (kernel line, CPUs, socket links, IOMMUs, root complexes), booted.
    public var inputs: [MachineInput] = []
    /// Whether `inputs` is known (false for a baseline written before inputs were recorded: nothing to compare).
    public var hasInputs = true
    /// Root complex name -> the IOMMU unit translating for it.
    public var rootComplexIOMMU: [String: String] = [:]

    public init(_ semantics: Semantics) {
        let fabric = Fabric(semantics)
        let e = fabric.enumeration
        let t = fabric.topology
        var devices: [String: DeviceFacts] = [:]
        var order: [String] = []
        let functions = e.functions.indices.filter { e.functions[$0].physicalFunction == nil }
            .sorted { (e.functions[$0].bdf.segment, e.functions[$0].bdf.requesterID) < (e.functions[$1].bdf.segment, e.functions[$1].bdf.requesterID) }
        var groupMembers: [Int: [String]] = [:]
        for f in functions { if let g = semantics.groupNumbers[f] { groupMembers[g, default: []].append(e.functions[f].name) } }
        for f in functions {
            let fn = e.functions[f]
            let rc = t.rootComplexes[fn.rootComplex]
            let d = fn.device.map { t.devices[$0] }
            devices[fn.name] = DeviceFacts(
                name: fn.name, bdf: fn.bdf.description, kind: fn.kind.rawValue, parent: fn.upstreamBridge.map { e.functions[$0].name },
                rootComplex: rc.name, socket: rc.socket, link: e.links[f]?.description,
                acsCapability: d?.acs.map { $0.capability.rawValue }, acsControl: semantics.acsControlWord[f],
                ancestors: fabric.ancestors[f].map { e.functions[$0].name },
                groupPartners: semantics.groupNumbers[f].map { g in (groupMembers[g] ?? []).filter { $0 != fn.name }.sorted() },
                tuning: d.map(Self.tuning) ?? "")
            order.append(fn.name)
        }
        let eps = functions.filter { e.functions[$0].kind == .endpoint && (e.functions[$0].device.map { t.devices[$0].endpoint?.endpointClass != .hostBridge } ?? true) }
        let matrix = semantics.distanceMatrix(providers: eps, clients: eps)
        var p2p: [String: (P2PMapType, Int)] = [:]
        for (i, p) in eps.enumerated() {
            for (j, c) in eps.enumerated() where p != c {
                let cell = matrix[provider: i, client: j]
                p2p[e.functions[p].name + "|" + e.functions[c].name] = (cell.mapType, cell.distance)
            }
        }
        self.devices = devices
        self.order = order
        self.p2p = p2p
        endpoints = eps.map { e.functions[$0].name }
        inputs = MachineInput.inputs(semantics)
        for rc in t.rootComplexes { if let u = rc.iommu { rootComplexIOMMU[rc.name] = u } }
    }

    /// A device's transport tuning in words: `<param>`s, a switch's latency, an endpoint's DMA engine and ATS.
    static func tuning(_ d: Device) -> String {
        var parts: [String] = d.parameters.map { "\($0.name)=\($0.value)" }
        if let l = d.switchInfo?.latency { parts.append("switch latency \(Duration.format(l))") }
        if let ep = d.endpoint {
            parts.append("tags \(ep.dma.tagBits)-bit, \(ep.dma.outstandingReads) reads in flight"
                         + (ep.dma.maxIssueRate.map { ", issue rate \(formatDecimal($0 / 1e6))M TLP/s" } ?? "") + (ep.supportsATS ? ", ATS" : ""))
        }
        return parts.joined(separator: ", ")
    }

    /// ACS bits as lspci names them, `+` set and `-` clear, for the bits in the capability.
    public static func acsText(_ word: UInt16?, capability: UInt16?) -> String {
        guard let word, let cap = capability else { return "no ACS" }
        return ACSFlags.named.filter { cap & $0.0.rawValue != 0 }.map { $0.2 + (word & $0.0.rawValue != 0 ? "+" : "-") }.joined(separator: " ")
    }
}

/// One difference between two machines, in words, with the devices it concerns.
public struct MachineChange: Sendable, Hashable {
    public var kind: String
    /// The device, or the input's name (`socket link 0-1`).
    public var device: String
    public var text: String
    public var affectsP2P: Bool
    /// The change moves a simulated number (throughput, latency) though no P2P verdict: a socket link, a CPU, a root
    /// complex's cap, an IOMMU's mode, the kernel line, a device's tuning.
    public var movesNumbers: Bool
    /// Between two kernel versions: the rules (with their commits) that explain the change.
    public var rules: [KernelRuleInfo] = []
    public init(kind: String, device: String, text: String, affectsP2P: Bool, movesNumbers: Bool? = nil) {
        self.kind = kind
        self.device = device
        self.text = text
        self.affectsP2P = affectsP2P
        self.movesNumbers = movesNumbers ?? affectsP2P
    }
    /// Whether a result can differ: what `simrun diff`'s exit status says.
    public var matters: Bool { affectsP2P || movesNumbers }
}

extension MachineFacts {
    /// What changed from `self` (before) to `after`, device by device, then the p2p matrix.
    public func changes(to after: MachineFacts) -> [MachineChange] {
        var out: [MachineChange] = []
        for name in order where after.devices[name] == nil {
            out.append(MachineChange(kind: "removed", device: name, text: "\(name) (\(devices[name]!.bdf)) removed", affectsP2P: true))
        }
        for name in after.order where devices[name] == nil {
            out.append(MachineChange(kind: "added", device: name, text: "\(name) (\(after.devices[name]!.bdf)) added", affectsP2P: true))
        }
        for name in after.order {
            guard let a = devices[name], let b = after.devices[name] else { continue }
            out += deviceChanges(a, b)
        }
        for (input, text) in inputChanges(to: after) {
            out.append(MachineChange(kind: input.kind, device: input.name, text: text, affectsP2P: false, movesNumbers: true))
        }
        for key in after.p2p.keys.sorted(by: { pairOrder($0, $1, after) }) {
            guard let a = p2p[key], let b = after.p2p[key], a.mapType != b.mapType || a.distance != b.distance else { continue }
            let parts = key.split(separator: "|").map(String.init)
            let causes = pathCauses(parts[0], parts[1], after)
            out.append(MachineChange(kind: "p2p", device: parts[1],
                                     text: "\(parts[1]) -> \(parts[0]): \(a.mapType) distance \(a.distance) -> \(b.mapType) distance \(b.distance)"
                                        + (causes.isEmpty ? "" : ": " + causes.joined(separator: "; ")), affectsP2P: true))
        }
        return out
    }

    func pairOrder(_ x: String, _ y: String, _ after: MachineFacts) -> Bool {
        let a = x.split(separator: "|"), b = y.split(separator: "|")
        let ia = (after.order.firstIndex(of: String(a[1])) ?? 0, after.order.firstIndex(of: String(a[0])) ?? 0)
        let ib = (after.order.firstIndex(of: String(b[1])) ?? 0, after.order.firstIndex(of: String(b[0])) ?? 0)
        return ia < ib
    }

    func deviceChanges(_ a: DeviceFacts, _ b: DeviceFacts) -> [MachineChange] {
        var out: [MachineChange] = []
        let n = b.name
        if a.parent != b.parent || a.rootComplex != b.rootComplex {
            out.append(MachineChange(kind: "moved", device: n, text: "\(n) moved: under \(a.parent ?? a.rootComplex) (socket \(a.socket)) -> under \(b.parent ?? b.rootComplex) (socket \(b.socket))", affectsP2P: true))
        } else if a.socket != b.socket {
            out.append(MachineChange(kind: "moved", device: n, text: "\(n) moved: socket \(a.socket) -> socket \(b.socket)", affectsP2P: true))
        }
        if a.bdf != b.bdf, a.parent == b.parent {
            out.append(MachineChange(kind: "bdf", device: n, text: "\(n) renumbered: \(a.bdf) -> \(b.bdf)", affectsP2P: false))
        }
        if a.link != b.link {
            out.append(MachineChange(kind: "link", device: n, text: "link \(b.bdf) \(n) \(a.link ?? "none") -> \(b.link ?? "none")", affectsP2P: true))
        }
        if a.acsCapability != b.acsCapability {
            out.append(MachineChange(kind: "acs-cap", device: n, text: "ACS capability of \(b.bdf) \(n): \(MachineFacts.acsText(a.acsCapability, capability: a.acsCapability)) -> \(MachineFacts.acsText(b.acsCapability, capability: b.acsCapability))", affectsP2P: true))
        } else if a.acsControl != b.acsControl {
            let was = a.acsControl ?? 0, now = b.acsControl ?? 0
            var words: [String] = []
            for (flag, _, long) in ACSFlags.named {
                let bit = flag.rawValue
                if now & bit != 0, was & bit == 0 { words.append("ACS \(long) now set on \(b.bdf)") }
                if now & bit == 0, was & bit != 0 { words.append("ACS \(long) now clear on \(b.bdf)") }
            }
            out.append(MachineChange(kind: "acs", device: n, text: words.joined(separator: ", ") + " (\(n))", affectsP2P: true))
        }
        if a.groupPartners != b.groupPartners {
            func g(_ p: [String]?) -> String { p.map { $0.isEmpty ? "alone" : "with " + $0.joined(separator: " ") } ?? "no group" }
            out.append(MachineChange(kind: "group", device: n, text: "IOMMU group of \(n): \(g(a.groupPartners)) -> \(g(b.groupPartners))", affectsP2P: true))
        }
        if let x = a.tuning, let y = b.tuning, x != y {
            out.append(MachineChange(kind: "tuning", device: n, text: "tuning of \(b.bdf) \(n): \(x.isEmpty ? "none" : x) -> \(y.isEmpty ? "none" : y)",
                                     affectsP2P: false, movesNumbers: true))
        }
        return out
    }

    /// Facts that changed on the path between two devices (either side, the devices included), in words.
    public func pathCauses(_ x: String, _ y: String, _ after: MachineFacts) -> [String] {
        var names: [String] = []
        for d in [x, y] {
            for m in [self, after] {
                guard let f = m.devices[d] else { continue }
                for n in [d] + f.ancestors where !names.contains(n) { names.append(n) }
            }
        }
        var out: [String] = []
        for n in names {
            guard let a = devices[n] else { out.append("\(n) added on the path"); continue }
            guard let b = after.devices[n] else { out.append("\(n) (\(a.bdf)) removed"); continue }
            out += deviceChanges(a, b).filter { $0.kind != "group" && $0.kind != "bdf" }.map(\.text)
        }
        return out + pathInputCauses(x, y, after)
    }
}
