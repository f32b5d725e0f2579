// GPU fabrics beside PCIe: NVLink, NVSwitch and xGMI (Infinity Fabric) links, and the NV# counts they give.

/// The kind of a GPU-fabric link.
public enum GPULinkKind: String, Sendable, Hashable, CaseIterable {
    /// NVLink between two devices (GPU to GPU, or GPU to a CPU with NVLink such as POWER9 or Grace).
    case nvlink
    /// NVLink from a GPU to an NVSwitch chip; GPUs on common NVSwitches reach each other over them.
    case nvswitch
    /// AMD Infinity Fabric (xGMI) between two GPUs.
    case xgmi
}

/// One GPU's links of one kind to one peer, as the GPU reports them (NVML lists NVLinks per GPU,
/// `nvidia-smi nvlink -R`; NCCL writes one `<nvlink target count>` per GPU and peer). A pair of GPUs joined
/// directly is therefore usually listed from both sides.
///
/// These links are not PCIe: they change no PCIe routing, ACS or p2pdma rule. They give the `NV#` class
/// `nvidia-smi topo -m` prints for a pair of GPUs (see `GPUFabric.linkCount`).
public struct GPULink: Hashable, Sendable {
    public var kind: GPULinkKind
    /// The device whose links these are (a GPU's name).
    public var a: String
    /// The device at the other end, for `nvlink` and `xgmi`. Equal to `a` for NCCL's self-loop quirk
    /// (a GPU whose NVLink peer NVML reported as itself): kept as read, it joins no pair.
    public var b: String?
    /// The NVSwitch at the other end, for `nvswitch`: any name; NCCL dumps give the switch's PCI address,
    /// or `fffffff:ffff:ff` when the switch is hidden from a VM.
    public var fabricSwitch: String?
    /// Number of links, as NVML counts them per GPU (`nvidia-smi nvlink -s` lists one line per link).
    public var count: Int
    /// PCI class NCCL gave the far end when it is neither a GPU nor an NVSwitch (`0x068001`, a CPU),
    /// kept so an NCCL export writes it back; nil otherwise.
    public var targetClass: String?

    public init(kind: GPULinkKind, a: String, b: String? = nil, fabricSwitch: String? = nil, count: Int, targetClass: String? = nil) {
        self.kind = kind
        self.a = a
        self.b = b
        self.fabricSwitch = fabricSwitch
        self.count = count
        self.targetClass = targetClass
    }

    /// True for a link a GPU reports to itself.
    public var isSelfLoop: Bool { b == a }
}

/// The GPU-fabric links of a topology, indexed by device, to answer "how many links join these two devices".
public struct GPUFabric: Sendable {
    /// Per device index: (peer device index, links) for direct links, and (switch name, links) for switch links.
    var direct: [[Int: Int]]
    var switches: [[String: Int]]
    /// Kind per device pair with a direct link (first one listed wins when kinds differ).
    var kinds: [[Int: GPULinkKind]]

    public init(_ t: Topology) {
        direct = Array(repeating: [:], count: t.devices.count)
        switches = Array(repeating: [:], count: t.devices.count)
        kinds = Array(repeating: [:], count: t.devices.count)
        var index: [String: Int] = [:]
        for (i, d) in t.devices.enumerated() where index[d.name] == nil { index[d.name] = i }
        for l in t.gpuLinks {
            guard let a = index[l.a] else { continue }
            if let s = l.fabricSwitch, l.kind == .nvswitch {
                switches[a][s, default: 0] += l.count
            } else if let bName = l.b, let b = index[bName], b != a {
                direct[a][b, default: 0] += l.count
                if kinds[a][b] == nil { kinds[a][b] = l.kind }
                if kinds[b][a] == nil { kinds[b][a] = l.kind }
            }
        }
    }

    public var isEmpty: Bool { direct.allSatisfy(\.isEmpty) && switches.allSatisfy(\.isEmpty) }

    /// Links joining two devices, as `nvidia-smi topo -m` counts them for `NV#`: direct links (the larger of
    /// the two sides' counts, since each GPU lists the same links) plus, over each NVSwitch both reach, the
    /// smaller of their link counts to it. An A100 SXM GPU has 2 links to each of 6 NVSwitches (the NCCL dump
    /// in aliyun/SimAI SimCCL/test/topo_4A100_2CX6.xml): NV12 for every pair; an H100 SXM GPU 18 links over 4
    /// switches (5+5+4+4, the dump in NVIDIA/nccl-tests#256), and nvidia-smi prints NV18 (NVIDIA/nccl#1453).
    /// Nil when no link joins them.
    public func linkCount(_ a: Int, _ b: Int) -> Int? {
        guard a != b, a < direct.count, b < direct.count else { return nil }
        var n = max(direct[a][b] ?? 0, direct[b][a] ?? 0)
        for (s, ca) in switches[a] {
            if let cb = switches[b][s] { n += min(ca, cb) }
        }
        return n > 0 ? n : nil
    }

    /// The kind of the direct link between two devices, or `.nvswitch` when they meet only on switches.
    public func linkKind(_ a: Int, _ b: Int) -> GPULinkKind? {
        guard linkCount(a, b) != nil else { return nil }
        return kinds[a][b] ?? .nvswitch
    }

    /// Checks references: `a` and `b` name devices, each link has exactly the peer its kind needs, counts positive.
    /// `lines` gives each link's source line (nil where unknown).
    public static func check(_ t: Topology, lines: [Int?], into bag: inout DiagnosticBag) {
        let names = Set(t.devices.map(\.name))
        for (i, l) in t.gpuLinks.enumerated() {
            let line = i < lines.count ? lines[i] : nil
            if !names.contains(l.a) { bag.error(line, "<gpu-link> a='\(l.a)' names no device") }
            if let b = l.b, !names.contains(b) { bag.error(line, "<gpu-link> b='\(b)' names no device") }
            switch l.kind {
            case .nvswitch:
                if l.fabricSwitch == nil { bag.error(line, "<gpu-link kind=\"nvswitch\"> needs switch=\"...\" (the NVSwitch it reaches)") }
                if l.b != nil { bag.error(line, "<gpu-link kind=\"nvswitch\"> takes switch=\"...\", not b=\"...\"") }
            case .nvlink, .xgmi:
                if l.b == nil { bag.error(line, "<gpu-link kind=\"\(l.kind.rawValue)\"> needs b=\"...\" (the device at the other end)") }
                if l.fabricSwitch != nil { bag.error(line, "<gpu-link kind=\"\(l.kind.rawValue)\"> takes b=\"...\", not switch=\"...\"") }
            }
            if l.count < 1 { bag.error(line, "<gpu-link> count must be at least 1") }
        }
    }
}

/// The class `nvidia-smi topo -m` prints for a pair: `X`, a PCIe path class, or `NV#` when a GPU fabric joins them.
public enum TopoMatrixClass: Hashable, Sendable, CustomStringConvertible {
    case pcie(PathClass)
    /// `NV#`: "Connection traversing a bonded set of # NVLinks" (nvidia-smi's legend).
    case nvlink(Int)
    /// xGMI (AMD); printed `XGMI#` here (rocm-smi prints link types in a table of its own).
    case xgmi(Int)

    public var description: String {
        switch self {
        case .pcie(let p): p.rawValue
        case .nvlink(let n): "NV\(n)"
        case .xgmi(let n): "XGMI\(n)"
        }
    }

    /// Parses a cell as nvidia-smi prints it (`X`, `PIX`, `NV12`; `SOC`, the older name of `SYS`, read as SYS).
    public init?(cell: String) {
        let c = cell.trimmingSpaces.uppercased()
        if c == "SOC" { self = .pcie(.sys); return }
        if let p = PathClass(rawValue: c) { self = .pcie(p); return }
        if c.hasPrefix("NV"), let n = Int(c.dropFirst(2)), n > 0 { self = .nvlink(n); return }
        if c.hasPrefix("XGMI"), let n = Int(c.dropFirst(4)), n > 0 { self = .xgmi(n); return }
        return nil
    }
}
