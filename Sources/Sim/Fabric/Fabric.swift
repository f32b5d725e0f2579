// Compiled routing structures derived once from an enumerated topology: address map, ancestry, windows.

/// What claims an address in the machine's physical address space.
public enum AddressClaim: Hashable, Sendable {
    /// A BAR of a function (function index, position in its BAR list).
    case bar(function: Int, bar: Int)
    /// Inside a bridge window but no BAR below claims it (the bridge forwards it; the bus answers UR).
    case unclaimedWindow(bridge: Int)
    /// Inside a root complex's MMIO aperture but claimed by nothing below it.
    case unclaimedAperture(rootComplex: Int)
    /// Outside every MMIO aperture: system memory (DRAM).
    case memory
}

/// The routing view of a machine: derived once (DESIGN.md: "compiled structures are derived once").
public struct Fabric: Sendable {
    public let topology: Topology
    public let enumeration: Enumeration
    /// ACS control per function after boot (what Linux leaves in the register); nil: no ACS capability.
    public let acsControl: [ACSFlags?]
    /// Per function: the chain of bridges above it, nearest first (a VF uses its PF's chain).
    public let ancestors: [[Int]]
    /// Per function: its root port (or nil for root-bus functions), and its depth below the root bus.
    public let rootPort: [Int?]
    /// Sorted BAR ranges for address decode: (start, end, function, bar position).
    let barMap: [(start: UInt64, end: UInt64, function: Int, bar: Int)]
    /// Bridge windows, for addresses inside a window that no BAR claims.
    let windowMap: [(range: AddressRange, bridge: Int, depth: Int)]
    /// Per function: for a switch upstream port whose switch is a partition of a fabric-mode chip, that chip's index
    /// in `topology.switchChips`; nil otherwise (partitioned chips and plain switches route through their uplink).
    public let fabricChip: [Int?]

    /// The fabric of a booted machine: ACS as Linux leaves it and each IOMMU in the mode the command line set.
    public init(_ semantics: Semantics) {
        self.init(semantics.loaded, acsControl: semantics.acsControl)
    }

    public init(_ loaded: LoadedTopology, acsControl: [ACSFlags?]? = nil) {
        topology = loaded.topology
        enumeration = loaded.enumeration
        let e = loaded.enumeration
        self.acsControl = acsControl ?? e.functions.map { f in f.device.flatMap { loaded.topology.devices[$0].acs?.control } }
        var ancestors = [[Int]](repeating: [], count: e.functions.count)
        var rootPort = [Int?](repeating: nil, count: e.functions.count)
        for i in e.functions.indices {
            var chain: [Int] = []
            var p = e.functions[i].upstreamBridge
            while let b = p {
                chain.append(b)
                p = e.functions[b].upstreamBridge
            }
            ancestors[i] = chain
            rootPort[i] = chain.last.flatMap { e.functions[$0].kind == .rootPort ? $0 : nil }
        }
        self.ancestors = ancestors
        self.rootPort = rootPort
        let t = loaded.topology
        fabricChip = e.functions.map { f in
            guard f.kind == .switchUpstreamPort, let d = f.device, let name = t.devices[d].switchInfo?.chip,
                  let c = t.switchChips.firstIndex(where: { $0.name == name }), t.switchChips[c].routing == .fabric else { return nil }
            return c
        }
        var bars: [(UInt64, UInt64, Int, Int)] = []
        for (f, addresses) in e.barAddresses.enumerated() {
            let sizes = Fabric.barSizes(f, loaded.topology, e)
            for (k, a) in addresses.enumerated() where k < sizes.count && sizes[k] > 0 {
                bars.append((a, a &+ sizes[k] &- 1, f, k))
            }
        }
        bars.sort { $0.0 < $1.0 }
        barMap = bars.map { (start: $0.0, end: $0.1, function: $0.2, bar: $0.3) }
        var windows: [(AddressRange, Int, Int)] = []
        for f in e.functions.indices {
            for w in [e.memoryWindows[f], e.prefetchableWindows[f]].compactMap({ $0 }) { windows.append((w, f, ancestors[f].count)) }
        }
        windowMap = windows.map { (range: $0.0, bridge: $0.1, depth: $0.2) }
    }

    static func barSizes(_ f: Int, _ t: Topology, _ e: Enumeration) -> [UInt64] {
        if let d = e.functions[f].device { return t.devices[d].bars.map(\.size) }
        if let pf = e.functions[f].physicalFunction { return t.devices[pf].endpoint?.sriov?.bars.map(\.size) ?? [] }
        return []
    }

    /// Decodes a physical (bus) address: the BAR that claims it, else the deepest window, else memory.
    public func claim(_ address: UInt64) -> AddressClaim {
        var lo = 0
        var hi = barMap.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if barMap[mid].start <= address { lo = mid + 1 } else { hi = mid }
        }
        if lo > 0, barMap[lo - 1].end >= address { return .bar(function: barMap[lo - 1].function, bar: barMap[lo - 1].bar) }
        var best: (Int, Int)?
        for w in windowMap where w.range.contains(address) {
            if best == nil || w.depth > best!.1 { best = (w.bridge, w.depth) }
        }
        if let best { return .unclaimedWindow(bridge: best.0) }
        for (r, rc) in enumeration.rootComplexes.enumerated() {
            if rc.mmio32?.contains(address) == true || rc.mmio64?.contains(address) == true { return .unclaimedAperture(rootComplex: r) }
        }
        return .memory
    }

    /// The base address of a function's BAR (by BAR register index), if it has it.
    public func barAddress(function f: Int, index: Int) -> UInt64? {
        let bars: [BAR]
        if let d = enumeration.functions[f].device { bars = topology.devices[d].bars } else if let pf = enumeration.functions[f].physicalFunction {
            bars = topology.devices[pf].endpoint?.sriov?.bars ?? []
        } else { bars = [] }
        guard let k = bars.firstIndex(where: { $0.index == index }) else { return nil }
        return enumeration.barAddresses[f][k]
    }

    /// The first BAR of a function, preferring a prefetchable one (where peer memory usually lives).
    public func defaultTargetAddress(function f: Int) -> UInt64? { defaultTargetBAR(function: f)?.address }

    /// The BAR ``defaultTargetAddress(function:)`` picks, with its size.
    public func defaultTargetBAR(function f: Int) -> (address: UInt64, size: UInt64)? {
        let sizes = Fabric.barSizes(f, topology, enumeration)
        guard !sizes.isEmpty else { return nil }
        let bars: [BAR] = enumeration.functions[f].device.map { topology.devices[$0].bars } ?? []
        let k = bars.firstIndex(where: \.isPrefetchable) ?? 0
        return (enumeration.barAddresses[f][k], sizes[k])
    }

    /// Nearest common bridge of two functions (nil when they meet only at a root complex or not at all).
    public func commonBridge(_ a: Int, _ b: Int) -> Int? {
        let set = Set(ancestors[b])
        return ancestors[a].first { set.contains($0) }
    }

    public func name(_ f: Int) -> String { enumeration.functions[f].name }
    public func bdf(_ f: Int) -> BDF { enumeration.functions[f].bdf }

    /// The chips a TLP crosses from fabric chip `a` to fabric chip `b` over chip links (fewest links; ties by file
    /// order), both ends included; `[a]` when a == b; nil when no chain of fabric-mode chips joins them.
    public func chipPath(from a: Int, to b: Int) -> [Int]? {
        if a == b { return [a] }
        let chips = topology.switchChips
        var previous = [Int?](repeating: nil, count: chips.count)
        var seen = [Bool](repeating: false, count: chips.count)
        seen[a] = true
        var frontier = [a]
        while !frontier.isEmpty {
            var next: [Int] = []
            for c in frontier {
                for l in topology.chipLinks {
                    let other: String
                    if l.a == chips[c].name { other = l.b } else if l.b == chips[c].name { other = l.a } else { continue }
                    guard let o = chips.firstIndex(where: { $0.name == other }), !seen[o], chips[o].routing == .fabric else { continue }
                    seen[o] = true
                    previous[o] = c
                    if o == b {
                        var path = [b]
                        var x = b
                        while let p = previous[x] { path.append(p); x = p }
                        return path.reversed()
                    }
                    next.append(o)
                }
            }
            frontier = next
        }
        return nil
    }
}
