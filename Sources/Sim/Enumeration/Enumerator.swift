// Firmware-style enumeration: depth-first bus numbers, device numbers, bridge windows and BAR addresses
// assigned where the file omits them and checked where it gives them; links trained; MPS settled.

/// Enumerates a topology. Assignment follows what PC firmware and Linux's drivers/pci/setup-bus.c do:
/// buses depth-first in file order, BARs naturally aligned, bridge windows in 1 MiB units with 64-bit
/// prefetchable BARs in the prefetchable window and all other memory BARs in the non-prefetchable window.
public enum Enumerator {
    /// The 32-bit MMIO hole root complexes share when the file gives no `mmio32` (below the 4 GiB line,
    /// under the usual LAPIC/IOAPIC/flash region at 0xfec00000).
    public static let mmio32Pool = AddressRange(start: 0x8000_0000, end: 0xFBFF_FFFF)
    /// The 64-bit MMIO region root complexes share when the file gives no `mmio64` (52-bit physical addresses).
    public static let mmio64Pool = AddressRange(start: 0x40_0000_0000, end: (1 << 52) - 1)
    /// Bridge memory windows are programmed in 1 MiB units (PCI-to-PCI Bridge Architecture §3.2.5.8).
    public static let windowGranularity: UInt64 = 1 << 20

    public static func enumerate(_ document: TopologyDocument) throws(DiagnosticError) -> Enumeration {
        try enumerate(document.topology, source: document.source)
    }

    /// Checks the topology and enumerates it; throws every error at once (warnings ride along in the result).
    public static func enumerate(_ topology: Topology, source: SourceMap? = nil) throws(DiagnosticError) -> Enumeration {
        var state = EnumerationState(topology: topology, source: source ?? SourceMap(file: "<\(topology.name)>"))
        TopologyChecker.check(topology, source: state.source, into: &state.bag)
        state.run()
        try state.bag.throwIfErrors()
        state.result.warnings = state.bag.sorted.filter { $0.severity != .error }
        state.result.finishIndexes()
        return state.result
    }
}

struct EnumerationState {
    let topology: Topology
    let source: SourceMap
    var bag: DiagnosticBag
    var result = Enumeration()
    let children: [[Int]]
    let rootBusDevices: [[Int]]
    /// Per function: window sizing results (size, alignment) for NP and prefetchable windows.
    var npNeed: [(size: UInt64, align: UInt64)] = []
    var prefNeed: [(size: UInt64, align: UInt64)] = []
    var bdfOwner: [BDF: Int] = [:]

    init(topology: Topology, source: SourceMap) {
        self.topology = topology
        self.source = source
        bag = DiagnosticBag(file: source.file)
        (children, rootBusDevices) = topology.childrenIndex()
    }

    func line(_ device: Int) -> Int? { source.device(device) }
    func name(_ f: Int) -> String { result.functions[f].name }

    mutating func run() {
        let n = topology.devices.count
        result.functions.reserveCapacity(n)
        for (i, d) in topology.devices.enumerated() {
            result.functions.append(Enumeration.Function(
                name: d.name, bdf: BDF(bus: 0, device: 0, function: 0), kind: d.kind, device: i, physicalFunction: nil,
                id: d.id, upstreamBridge: d.parent, rootComplex: d.rootComplex, isPCIe: d.isPCIe, isMultifunction: false))
        }
        result.busRanges = Array(repeating: nil, count: n)
        result.memoryWindows = Array(repeating: nil, count: n)
        result.prefetchableWindows = Array(repeating: nil, count: n)
        result.barAddresses = topology.devices.map { [UInt64](repeating: 0, count: $0.bars.count) }
        result.links = Array(repeating: nil, count: n)

        assignBusNumbers()
        addVirtualFunctions()
        if bag.hasErrors { return }
        findHostBridgeFunctions()
        assignAddresses()
        checkOverlaps()
        trainLinks()
    }

    // MARK: - Bus and device numbers

    mutating func assignBusNumbers() {
        var nextFreeBus: [UInt16: Int] = [:]
        for (r, rc) in topology.rootComplexes.enumerated() {
            let rcLine = source.rootComplex(r)
            let rootBus = Int(rc.rootBus ?? UInt8(clamping: nextFreeBus[rc.segment] ?? 0))
            if rc.rootBus == nil, (nextFreeBus[rc.segment] ?? 0) > 0xff {
                bag.error(rcLine, "root complex '\(rc.name)': no bus numbers left in segment \(hex(rc.segment, 4))")
                result.rootComplexes.append(Enumeration.RootComplexState(segment: rc.segment, busRange: 0...0))
                continue
            }
            let limit = rc.busLimit.map { Int($0) } ?? nextExplicitRootBus(after: r).map { $0 - 1 } ?? 0xff
            if limit < rootBus {
                bag.error(rcLine, "root complex '\(rc.name)': bus-limit \(hex(limit, 2)) is below its root bus \(hex(rootBus, 2))")
            }
            var next = rootBus + 1
            numberFunctions(rootBusDevices[r], bus: rootBus, segment: rc.segment, rule: .rootBus(hostBridge: rc.hostBridgeID != nil))
            for d in rootBusDevices[r] where topology.devices[d].kind.isBridge {
                assignBridge(d, segment: rc.segment, next: &next, limit: limit)
            }
            let used = next - 1
            if used > limit {
                bag.error(rcLine, "root complex '\(rc.name)' needs buses \(hex(rootBus, 2))-\(hex(used, 2)) but decodes only up to \(hex(limit, 2)) (bus numbers exhausted)")
            }
            let end = UInt8(clamping: rc.busLimit.map { Int($0) } ?? max(used, rootBus))
            let range = UInt8(clamping: rootBus)...max(UInt8(clamping: rootBus), end)
            // Another root complex of this segment already decoding these buses is a bus-range overlap.
            for (o, other) in result.rootComplexes.enumerated() where other.segment == rc.segment && other.busRange.overlaps(range) {
                bag.error(rcLine, "root complex '\(rc.name)' bus range \(hex(range.lowerBound, 2))-\(hex(range.upperBound, 2)) overlaps '\(topology.rootComplexes[o].name)' (\(hex(other.busRange.lowerBound, 2))-\(hex(other.busRange.upperBound, 2)))")
            }
            nextFreeBus[rc.segment] = Int(range.upperBound) + 1
            result.rootComplexes.append(Enumeration.RootComplexState(segment: rc.segment, busRange: range))
        }
    }

    /// `pci_host_bridge_dev` (drivers/pci/p2pdma.c): the host bridge named by the root complex's
    /// `host-bridge` attribute; otherwise the lowest-numbered function on the root bus when it sits at devfn
    /// 00.0 or is a root port (a host bridge with sibling functions is a device of class host-bridge at 00.0).
    mutating func findHostBridgeFunctions() {
        for (r, rc) in topology.rootComplexes.enumerated() where r < result.rootComplexes.count {
            if let id = rc.hostBridgeID {
                result.rootComplexes[r].hostBridgeFunctionID = id
                continue
            }
            let rootBus = result.rootComplexes[r].busRange.lowerBound
            let first = result.functions.indices
                .filter { result.functions[$0].rootComplex == r && result.functions[$0].upstreamBridge == nil
                    && result.functions[$0].bdf.bus == rootBus && !result.functions[$0].isVirtualFunction }
                .min { result.functions[$0].bdf.requesterID < result.functions[$1].bdf.requesterID }
            guard let f = first else { continue }
            let fn = result.functions[f]
            if (fn.bdf.device == 0 && fn.bdf.function == 0) || fn.kind == .rootPort {
                result.rootComplexes[r].hostBridgeFunctionID = fn.id
            }
        }
    }

    func nextExplicitRootBus(after r: Int) -> Int? {
        let seg = topology.rootComplexes[r].segment
        for rc in topology.rootComplexes[(r + 1)...] where rc.segment == seg {
            if let b = rc.rootBus { return Int(b) }
        }
        return nil
    }

    enum NumberingRule {
        case rootBus(hostBridge: Bool)
        /// Below a root port or switch downstream port: the functions of device 0.
        case downstreamPort
        /// A switch's internal bus or a conventional PCI bus: devices numbered in order.
        case sequential
    }

    mutating func numberFunctions(_ devices: [Int], bus: Int, segment: UInt16, rule: NumberingRule) {
        var cursor = 0
        if case .rootBus(true) = rule {
            cursor = 1
            bdfOwner[BDF(segment: segment, bus: UInt8(clamping: bus), device: 0, function: 0)] = -1
        }
        var lastDevice: Int?
        var nextFunction = 0
        var functionsPerDevice: [Int: [Int]] = [:]
        for d in devices {
            let dev = topology.devices[d]
            var number: Int
            var function = dev.functionNumber.map(Int.init)
            switch rule {
            case .downstreamPort:
                number = Int(dev.deviceNumber ?? 0)
                if number != 0 {
                    bag.error(line(d), "'\(dev.name)' has device number \(number) below a PCIe downstream port; only device 0 exists on that link (PCIe Base §7.3.1)")
                }
                if function == nil { function = nextFunction }
            case .rootBus, .sequential:
                if let given = dev.deviceNumber {
                    number = Int(given)
                } else if let f = function, f > 0, let last = lastDevice {
                    number = last   // a function > 0 without a device number joins the previous device
                } else {
                    number = cursor
                }
                if function == nil { function = 0 }
            }
            let fn = function ?? 0
            nextFunction = fn + 1
            lastDevice = number
            cursor = max(cursor, number + 1)
            if number > 31 {
                if dev.deviceNumber == nil { bag.error(line(d), "no device number left on bus \(hex(bus, 2)) for '\(dev.name)' (32 devices per bus)") }
                number = 31
            }
            let bdf = BDF(segment: segment, bus: UInt8(clamping: bus), device: UInt8(number), function: UInt8(fn))
            claim(bdf, for: d)
            result.functions[d].bdf = bdf
            functionsPerDevice[number, default: []].append(d)
        }
        for (number, fns) in functionsPerDevice {
            let numbers = Set(fns.map { result.functions[$0].bdf.function })
            if !numbers.contains(0) {
                bag.error(line(fns[0]), "device \(hex(bus, 2)):\(hex(number, 2)) has function \(numbers.sorted()[0]) but no function 0 (PCI requires function 0)")
            }
            if fns.count > 1 { for f in fns { result.functions[f].isMultifunction = true } }
        }
    }

    mutating func claim(_ bdf: BDF, for d: Int) {
        if let owner = bdfOwner[bdf] {
            let other = owner < 0 ? "the host bridge" : "'\(name(owner))'"
            bag.error(line(d) ?? 0, "duplicate BDF \(bdf): '\(name(d))' and \(other)")
        } else {
            bdfOwner[bdf] = d
        }
    }

    mutating func assignBridge(_ d: Int, segment: UInt16, next: inout Int, limit: Int) {
        let dev = topology.devices[d]
        let secondary = Int(dev.bridge.secondaryBus ?? UInt8(clamping: next))
        if dev.bridge.secondaryBus != nil, secondary < next {
            bag.error(line(d), "'\(dev.name)' secondary bus \(hex(secondary, 2)) overlaps the bus range of another bridge (next free bus is \(hex(next, 2)))")
        }
        if secondary > 0xff || next > 0xff {
            bag.error(line(d), "no bus number left for '\(dev.name)' in segment \(hex(segment, 4)) (256 buses per segment)")
            return
        }
        next = max(next, secondary + 1)
        let kids = children[d]
        switch dev.kind {
        case .rootPort, .switchDownstreamPort:
            numberFunctions(kids, bus: secondary, segment: segment, rule: .downstreamPort)
        default:
            numberFunctions(kids, bus: secondary, segment: segment, rule: .sequential)
        }
        for k in kids {
            if topology.devices[k].kind.isBridge { assignBridge(k, segment: segment, next: &next, limit: limit) }
            // Buses taken by VFs of functions below this bridge (PCIe §9.3.3.10: VF RIDs may use higher buses).
            if let vfBus = lastVirtualFunctionBus(k) { next = max(next, vfBus + 1) }
        }
        var subordinate = next - 1
        if let given = dev.bridge.subordinateBus {
            if Int(given) < subordinate {
                bag.error(line(d), "'\(dev.name)' subordinate bus \(hex(given, 2)) does not cover bus \(hex(subordinate, 2)) used below it")
            }
            subordinate = max(subordinate, Int(given))
            next = max(next, subordinate + 1)
        }
        if subordinate > limit {
            bag.error(line(d), "'\(dev.name)' needs buses up to \(hex(subordinate, 2)), beyond the root complex's bus limit \(hex(limit, 2)) (bus numbers exhausted)")
        }
        result.busRanges[d] = UInt8(clamping: secondary)...UInt8(clamping: max(secondary, subordinate))
    }

    func lastVirtualFunctionBus(_ d: Int) -> Int? {
        guard let sriov = topology.devices[d].endpoint?.sriov, sriov.enabledVFs > 0 else { return nil }
        let rid = Int(result.functions[d].bdf.requesterID) + sriov.firstVFOffset + sriov.vfStride * (sriov.enabledVFs - 1)
        return rid >> 8
    }

    // MARK: - SR-IOV

    mutating func addVirtualFunctions() {
        for (d, dev) in topology.devices.enumerated() {
            guard let sriov = dev.endpoint?.sriov, sriov.enabledVFs > 0 else { continue }
            let pf = result.functions[d]
            for i in 0..<sriov.enabledVFs {
                let rid = Int(pf.bdf.requesterID) + sriov.firstVFOffset + sriov.vfStride * i
                guard rid <= 0xffff else {
                    bag.error(line(d), "'\(dev.name)' VF \(i) would need requester ID \(hex(rid, 4)), beyond bus ff")
                    break
                }
                let bdf = BDF(segment: pf.bdf.segment, requesterID: UInt16(rid))
                let f = result.functions.count
                result.functions.append(Enumeration.Function(
                    name: "\(dev.name).vf\(i)", bdf: bdf, kind: .endpoint, device: nil, physicalFunction: d, id: sriov.vfID,
                    upstreamBridge: pf.upstreamBridge, rootComplex: pf.rootComplex, isPCIe: true, isMultifunction: false))
                result.busRanges.append(nil)
                result.memoryWindows.append(nil)
                result.prefetchableWindows.append(nil)
                result.barAddresses.append([UInt64](repeating: 0, count: sriov.bars.count))
                result.links.append(nil)
                if let owner = bdfOwner[bdf] {
                    bag.error(line(d), "'\(dev.name)' VF \(i) at \(bdf) collides with '\(name(owner))'")
                } else {
                    bdfOwner[bdf] = f
                }
            }
        }
    }

    // MARK: - Addresses

    /// A thing that needs address space behind a bridge: a BAR, an SR-IOV BAR array, or a child bridge's window.
    struct Item {
        var size: UInt64
        var align: UInt64
        enum Owner { case bar(function: Int, index: Int), vfBar(pf: Int, index: Int), window(bridge: Int, prefetchable: Bool) }
        var owner: Owner
    }

    func isExplicit(rootComplex r: Int) -> Bool {
        topology.devices.contains { d in
            d.rootComplex == r && (d.bars.contains { $0.address != nil } || d.bridge.memoryWindow != nil || d.bridge.prefetchableWindow != nil)
        }
    }

    mutating func assignAddresses() {
        let n = topology.devices.count
        npNeed = Array(repeating: (0, 0), count: n)
        prefNeed = Array(repeating: (0, 0), count: n)
        var cursor32 = Enumerator.mmio32Pool.start
        var cursor64 = Enumerator.mmio64Pool.start
        for (r, rc) in topology.rootComplexes.enumerated() {
            if isExplicit(rootComplex: r) {
                checkExplicitAddresses(rootComplex: r)
                result.rootComplexes[r].mmio32 = rc.mmio32
                result.rootComplexes[r].mmio64 = rc.mmio64
                continue
            }
            for d in rootBusDevices[r] where topology.devices[d].kind.isBridge { sizeBridge(d) }
            let (np, pref) = items(onBusOf: rootBusDevices[r])
            let npLayout = layout(np)
            let prefLayout = layout(pref)
            let rcLine = source.rootComplex(r)
            var base32: UInt64 = 0
            var base64: UInt64 = 0
            if let given = rc.mmio32 {
                base32 = alignUp(given.start, npLayout.align)
                if npLayout.size > 0, base32 &+ npLayout.size &- 1 > given.end {
                    bag.error(rcLine, "root complex '\(rc.name)': its devices need \(ByteSize.format(npLayout.size)) of non-prefetchable MMIO but mmio32 \(given) holds only \(ByteSize.format(given.size))")
                }
                result.rootComplexes[r].mmio32 = given
            } else if npLayout.size > 0 {
                base32 = alignUp(cursor32, max(npLayout.align, Enumerator.windowGranularity))
                let end = base32 &+ npLayout.size &- 1
                if end > Enumerator.mmio32Pool.end || end < base32 {
                    bag.error(rcLine, "root complex '\(rc.name)': no space for \(ByteSize.format(npLayout.size)) of non-prefetchable (32-bit) MMIO: the 32-bit MMIO hole \(Enumerator.mmio32Pool) is \(ByteSize.format(Enumerator.mmio32Pool.size)) and \(ByteSize.format(cursor32 - Enumerator.mmio32Pool.start)) is taken; make large BARs 64-bit prefetchable or give mmio32")
                    continue
                }
                result.rootComplexes[r].mmio32 = AddressRange(start: base32, end: alignUp(end + 1, Enumerator.windowGranularity) - 1)
                cursor32 = alignUp(end + 1, Enumerator.windowGranularity)
            }
            if let given = rc.mmio64 {
                base64 = alignUp(given.start, prefLayout.align)
                if prefLayout.size > 0, base64 &+ prefLayout.size &- 1 > given.end {
                    bag.error(rcLine, "root complex '\(rc.name)': its devices need \(ByteSize.format(prefLayout.size)) of prefetchable MMIO but mmio64 \(given) holds only \(ByteSize.format(given.size))")
                }
                result.rootComplexes[r].mmio64 = given
            } else if prefLayout.size > 0 {
                base64 = alignUp(cursor64, max(prefLayout.align, Enumerator.windowGranularity))
                let end = base64 &+ prefLayout.size &- 1
                if end > Enumerator.mmio64Pool.end || end < base64 {
                    bag.error(rcLine, "root complex '\(rc.name)': no space for \(ByteSize.format(prefLayout.size)) of 64-bit prefetchable MMIO")
                    continue
                }
                result.rootComplexes[r].mmio64 = AddressRange(start: base64, end: alignUp(end + 1, Enumerator.windowGranularity) - 1)
                cursor64 = alignUp(end + 1, Enumerator.windowGranularity)
            }
            place(npLayout, base: base32)
            place(prefLayout, base: base64)
        }
    }

    /// Items on the bus where `devices` sit: their BARs, SR-IOV BAR arrays and (for bridges) their windows.
    func items(onBusOf devices: [Int]) -> (np: [Item], pref: [Item]) {
        var np: [Item] = []
        var pref: [Item] = []
        for d in devices {
            let dev = topology.devices[d]
            for (k, bar) in dev.bars.enumerated() where bar.size > 0 {
                let item = Item(size: bar.size, align: bar.size, owner: .bar(function: d, index: k))
                if bar.usesPrefetchableWindow { pref.append(item) } else { np.append(item) }
            }
            if let sriov = dev.endpoint?.sriov, sriov.enabledVFs > 0 {
                for (k, bar) in sriov.bars.enumerated() where bar.size > 0 {
                    let (total, overflow) = bar.size.multipliedReportingOverflow(by: UInt64(sriov.enabledVFs))
                    let item = Item(size: overflow ? .max / 2 : total, align: bar.size, owner: .vfBar(pf: d, index: k))
                    if bar.usesPrefetchableWindow { pref.append(item) } else { np.append(item) }
                }
            }
            if dev.kind.isBridge {
                if npNeed[d].size > 0 { np.append(Item(size: npNeed[d].size, align: npNeed[d].align, owner: .window(bridge: d, prefetchable: false))) }
                if prefNeed[d].size > 0 { pref.append(Item(size: prefNeed[d].size, align: prefNeed[d].align, owner: .window(bridge: d, prefetchable: true))) }
            }
        }
        return (np, pref)
    }

    struct Layout {
        var size: UInt64 = 0
        var align: UInt64 = 1
        var placements: [(Item, UInt64)] = []
    }

    /// Packs items largest alignment first (as pbus_size_mem orders by alignment), each naturally aligned.
    func layout(_ items: [Item]) -> Layout {
        var out = Layout()
        var offset: UInt64 = 0
        for item in items.sorted(by: { ($0.align, $0.size) > ($1.align, $1.size) }) {
            offset = alignUp(offset, item.align)
            out.placements.append((item, offset))
            offset &+= item.size
            out.align = max(out.align, item.align)
        }
        out.size = offset
        return out
    }

    mutating func sizeBridge(_ d: Int) {
        for k in children[d] where topology.devices[k].kind.isBridge { sizeBridge(k) }
        let (np, pref) = items(onBusOf: children[d])
        let npL = layout(np)
        let prefL = layout(pref)
        let g = Enumerator.windowGranularity
        npNeed[d] = npL.size == 0 ? (0, 0) : (alignUp(npL.size, g), max(npL.align, g))
        prefNeed[d] = prefL.size == 0 ? (0, 0) : (alignUp(prefL.size, g), max(prefL.align, g))
    }

    mutating func place(_ layout: Layout, base: UInt64) {
        for (item, offset) in layout.placements {
            let address = base &+ offset
            switch item.owner {
            case let .bar(f, k):
                result.barAddresses[f][k] = address
            case let .vfBar(pf, k):
                let size = topology.devices[pf].endpoint!.sriov!.bars[k].size
                for vf in virtualFunctions(of: pf).enumerated() {
                    result.barAddresses[vf.element][k] = address &+ UInt64(vf.offset) &* size
                }
            case let .window(bridge, prefetchable):
                let window = AddressRange(start: address, size: item.size)
                if prefetchable { result.prefetchableWindows[bridge] = window } else { result.memoryWindows[bridge] = window }
                let (np, pref) = items(onBusOf: children[bridge])
                place(self.layout(prefetchable ? pref : np), base: address)
            }
        }
    }

    func virtualFunctions(of pf: Int) -> [Int] {
        (topology.devices.count..<result.functions.count).filter { result.functions[$0].physicalFunction == pf }
    }

    /// A file that gives addresses must give them all; each is checked for alignment and containment.
    mutating func checkExplicitAddresses(rootComplex r: Int) {
        let rc = topology.rootComplexes[r]
        for (d, dev) in topology.devices.enumerated() where dev.rootComplex == r {
            result.memoryWindows[d] = dev.bridge.memoryWindow
            result.prefetchableWindows[d] = dev.bridge.prefetchableWindow
            let parentWindows: [AddressRange?]
            let container: String
            if let p = dev.parent {
                parentWindows = [topology.devices[p].bridge.memoryWindow, topology.devices[p].bridge.prefetchableWindow]
                container = "the windows of '\(topology.devices[p].name)'"
            } else {
                parentWindows = [rc.mmio32, rc.mmio64]
                container = "the apertures of root complex '\(rc.name)'"
            }
            let bounded = parentWindows.contains { $0 != nil }
            for (k, bar) in dev.bars.enumerated() {
                let barLine = source.bar(d, k)
                guard let address = bar.address else {
                    bag.error(barLine, "BAR \(bar.index) of '\(dev.name)' has no address, but root complex '\(rc.name)' gives addresses; give all or none")
                    continue
                }
                result.barAddresses[d][k] = address
                if bar.size > 0, address % bar.size != 0 {
                    bag.error(barLine, "BAR \(bar.index) of '\(dev.name)' at 0x\(hex(address, 1)) is not naturally aligned to its size \(ByteSize.format(bar.size))")
                }
                let range = AddressRange(start: address, size: bar.size)
                if !bar.is64Bit, range.end > 0xFFFF_FFFF {
                    bag.error(barLine, "32-bit BAR \(bar.index) of '\(dev.name)' lies above 4 GiB (\(range))")
                }
                if bounded, !parentWindows.contains(where: { $0?.contains(range) == true }) {
                    bag.error(barLine, "BAR \(bar.index) of '\(dev.name)' \(range) lies outside \(container)")
                }
            }
            for window in [dev.bridge.memoryWindow, dev.bridge.prefetchableWindow].compactMap({ $0 }) {
                if window.start % Enumerator.windowGranularity != 0 || window.size % Enumerator.windowGranularity != 0 {
                    bag.error(line(d), "window \(window) of '\(dev.name)' is not in 1 MiB units")
                }
                if bounded, !parentWindows.contains(where: { $0?.contains(window) == true }) {
                    bag.error(line(d), "window \(window) of '\(dev.name)' lies outside \(container)")
                }
            }
        }
    }

    /// Overlapping BARs anywhere in the machine, and overlapping windows of sibling bridges.
    mutating func checkOverlaps() {
        var ranges: [(AddressRange, Int, Int)] = []
        for (f, addresses) in result.barAddresses.enumerated() {
            let bars = f < topology.devices.count ? topology.devices[f].bars : (result.functions[f].physicalFunction.flatMap { topology.devices[$0].endpoint?.sriov?.bars } ?? [])
            for (k, a) in addresses.enumerated() where k < bars.count && bars[k].size > 0 {
                ranges.append((AddressRange(start: a, size: bars[k].size), f, k))
            }
        }
        ranges.sort { $0.0.start < $1.0.start }
        var reported = 0
        for i in ranges.indices.dropFirst() where ranges[i - 1].0.overlaps(ranges[i].0) && reported < 50 {
            let (a, fa, ka) = ranges[i - 1]
            let (b, fb, kb) = ranges[i]
            let lineB = fb < topology.devices.count ? source.bar(fb, kb) : nil
            bag.error(lineB, "BAR \(barIndex(fb, kb)) of '\(name(fb))' \(b) overlaps BAR \(barIndex(fa, ka)) of '\(name(fa))' \(a)")
            reported += 1
        }
        for kids in children + rootBusDevices {
            for (windows, label) in [(result.memoryWindows, "window"), (result.prefetchableWindows, "prefetchable window")] {
                let sibling = kids.compactMap { k in windows[k].map { ($0, k) } }.sorted { $0.0.start < $1.0.start }
                for i in sibling.indices.dropFirst() where sibling[i - 1].0.overlaps(sibling[i].0) {
                    bag.error(line(sibling[i].1), "\(label) \(sibling[i].0) of '\(name(sibling[i].1))' overlaps \(sibling[i - 1].0) of '\(name(sibling[i - 1].1))'")
                }
            }
        }
    }

    func barIndex(_ f: Int, _ k: Int) -> Int {
        if f < topology.devices.count { return topology.devices[f].bars[k].index }
        return result.functions[f].physicalFunction.flatMap { topology.devices[$0].endpoint?.sriov?.bars[k].index } ?? k
    }

    // MARK: - Links, MPS

    /// LnkCap of a device: its own, else inherited from the port above (root ports: the root complex default).
    func capability(_ d: Int) -> LinkCapability {
        let dev = topology.devices[d]
        let inherited: LinkCapability
        if let p = dev.parent {
            inherited = capability(p)
        } else {
            inherited = topology.rootComplexes[dev.rootComplex].defaultLink
        }
        return LinkCapability(generation: dev.linkGeneration ?? inherited.generation, width: dev.linkWidth ?? inherited.width)
    }

    mutating func trainLinks() {
        let n = topology.devices.count
        result.maxPayload = Array(repeating: 128, count: result.functions.count)
        result.maxReadRequest = Array(repeating: 512, count: result.functions.count)
        result.readCompletionBoundary = Array(repeating: 64, count: result.functions.count)
        for d in 0..<n {
            let dev = topology.devices[d]
            let parentMPS = dev.parent.map { result.maxPayload[$0] } ?? 4096
            result.maxPayload[d] = min(dev.maxPayloadSupported ?? 256, parentMPS)
            result.maxReadRequest[d] = dev.maxReadRequest ?? 512
            result.readCompletionBoundary[d] = dev.readCompletionBoundary ?? (dev.parent.map { result.readCompletionBoundary[$0] } ?? 64)
            guard let p = dev.parent, topology.devices[p].kind.isDownstreamPort, dev.isPCIe else { continue }
            let mine = capability(d)
            let port = capability(p)
            let best = LinkCapability(generation: min(mine.generation, port.generation), width: min(mine.width, port.width))
            let generation = dev.trainedGeneration ?? best.generation
            let width = dev.trainedWidth ?? best.width
            if generation > best.generation || width > best.width {
                bag.error(line(d), "'\(dev.name)' link trained-gen/trained-width Gen\(generation.rawValue) x\(width) is above what both ends support (Gen\(best.generation.rawValue) x\(best.width))")
            }
            let link = TrainedLink(generation: min(generation, best.generation), width: min(width, best.width), capability: mine)
            result.links[d] = link
            guard result.functions[d].bdf.function == 0 else { continue }   // one link per device
            if link.generation < best.generation || link.width < best.width {
                bag.warning(line(d), "'\(dev.name)' link down-trained to \(link.description); both ends support \(best.description)")
            } else if link.isDownTrained {
                bag.warning(line(d), "'\(dev.name)' link runs at \(link.description), limited by '\(topology.devices[p].name)' (\(port.description)); the device is capable of \(mine.description)")
            }
        }
        for f in n..<result.functions.count {
            if let pf = result.functions[f].physicalFunction {
                result.maxPayload[f] = result.maxPayload[pf]
                result.maxReadRequest[f] = result.maxReadRequest[pf]
                result.readCompletionBoundary[f] = result.readCompletionBoundary[pf]
                result.links[f] = result.links[pf]
            }
        }
    }
}

@inlinable
func alignUp(_ value: UInt64, _ alignment: UInt64) -> UInt64 {
    guard alignment > 1 else { return value }
    return (value &+ alignment &- 1) / alignment &* alignment
}
