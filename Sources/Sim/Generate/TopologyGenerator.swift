// Synthetic machines from a few numbers (`simrun generate`): sockets, root complexes, switch trees, endpoints.

/// Builds a `Topology` from `GeneratorParameters`, the same one for the same parameters.
///
/// The machine is regular: every root complex has the same root ports, every root port the same tree of
/// `switchLevels` switch levels, every leaf switch the same multiset of endpoints. The seed decides only
/// which downstream port of a leaf switch holds which endpoint class and which real device IDs the machine
/// uses, so every seed gives a machine of the same shape. Bus numbers, windows and BAR addresses are left to
/// `Enumerator`, as firmware would assign them; the generator checks beforehand that the two scarce
/// resources suffice, 256 buses per PCI segment and the 32-bit MMIO hole every non-prefetchable BAR must
/// fit in, and otherwise throws naming the parameters to change.
public enum TopologyGenerator {
    /// The file name diagnostics carry: the input is a set of parameters, not a file.
    static let diagnosticFile = "<generate>"

    public static func generate(_ p: GeneratorParameters) throws(DiagnosticError) -> Topology {
        let platform = try validate(p)
        let rootComplexes = p.sockets * p.rootComplexesPerSocket
        let buses = busesBelowRootBus(p)
        if buses > 255 {
            let fanout = p.switchLevels >= 2 ? " the fanout (\(p.fanout))," : ""
            throw DiagnosticError(file: diagnosticFile, """
                one root complex needs \(buses >= busCountCap ? "more than 65535" : String(buses)) buses below its root \
                bus (one behind each root port, switch upstream port and switch downstream port), but a PCI segment \
                has only 255 after the root bus; reduce the root ports per root complex (\(p.rootPortsPerRootComplex)), \
                the switch levels (\(p.switchLevels)),\(fanout) or the endpoints per leaf switch (\(p.endpointsPerLeaf))
                """)
        }
        // Each root complex takes its root bus plus the buses below it; all in segment 0 when they fit.
        let sharesSegment = rootComplexes * (1 + buses) <= 256
        if !sharesSegment, p.qemuCompatible {
            throw DiagnosticError(file: diagnosticFile, """
                the machine needs \(rootComplexes * (1 + buses)) buses, more than one PCI segment's 256, and QEMU \
                (q35, virt) has a single segment; reduce the sockets (\(p.sockets)), the root complexes per socket \
                (\(p.rootComplexesPerSocket)) or the buses each root complex needs (\(1 + buses))
                """)
        }
        var builder = Builder(p, platform: platform)
        let topology = builder.build(sharesSegment: sharesSegment)
        try checkNonPrefetchableSpace(topology, p)
        return topology
    }

    // MARK: - Parameters

    /// Checks the parameters, reporting every problem at once; gives the platform the CPU vendor implies.
    static func validate(_ p: GeneratorParameters) throws(DiagnosticError) -> Platform {
        var problems: [String] = []
        if !isSchemaName(p.name) {
            problems.append("name '\(p.name)' is not a valid topology name (a letter or _, then up to 63 letters, digits, _ . -)")
        }
        // The schema allows 64 sockets; 256 root complexes each keeps segment numbers within 16 bits.
        if !(1...64).contains(p.sockets) { problems.append("the sockets are \(p.sockets); they must be 1 to 64") }
        if !(1...256).contains(p.rootComplexesPerSocket) {
            problems.append("the root complexes per socket are \(p.rootComplexesPerSocket); they must be 1 to 256")
        }
        // Device 0 of each root bus is the host bridge function, leaving devices 1 to 31 (PCI: 32 per bus).
        if !(1...31).contains(p.rootPortsPerRootComplex) {
            problems.append("the root ports per root complex are \(p.rootPortsPerRootComplex); they must be 1 to 31 (device 0 of the root bus is the host bridge)")
        }
        if !(0...maxSwitchLevels).contains(p.switchLevels) {
            problems.append("the switch levels are \(p.switchLevels); they must be 0 to \(maxSwitchLevels) (the nesting a topology file may have)")
        }
        if p.switchLevels >= 2, !(1...32).contains(p.fanout) {
            problems.append("the fanout is \(p.fanout); it must be 1 to 32 (downstream ports of a switch)")
        }
        let counts = [("GPUs", p.gpusPerSwitch), ("NICs", p.nicsPerSwitch), ("NVMe drives", p.nvmePerSwitch),
                      ("FPGAs", p.fpgasPerSwitch), ("generic endpoints", p.genericPerSwitch)]
        for (name, count) in counts where !(0...32).contains(count) {
            problems.append("the \(name) per switch are \(count); they must be 0 to 32")
        }
        if counts.allSatisfy({ (0...32).contains($0.1) }) {
            if p.endpointsPerLeaf == 0 {
                problems.append("the endpoints per switch add up to 0; give at least one GPU, NIC, NVMe drive, FPGA or generic endpoint")
            } else if p.switchLevels > 0, p.endpointsPerLeaf > 32 {
                problems.append("the endpoints per leaf switch add up to \(p.endpointsPerLeaf); a switch has at most 32 downstream ports")
            }
        }
        if !supportedLinkWidths.contains(p.width) {
            problems.append("the link width is x\(p.width); it must be one of \(supportedLinkWidths.map(String.init).joined(separator: ", "))")
        }
        let platform = Platform(p)
        if platform == nil {
            problems.append("CPU vendor \(p.cpuVendor.rawValue) has no platform model here; use intel, amd or arm")
        }
        if p.qemuCompatible {
            let unsupported = [("GPUs", p.gpusPerSwitch), ("FPGAs", p.fpgasPerSwitch),
                               ("generic endpoints", p.genericPerSwitch)].filter { $0.1 != 0 }
            if !unsupported.isEmpty {
                problems.append("QEMU-compatible machines have only NVMe (QEMU nvme) and NIC (e1000e) endpoints; set the \(unsupported.map(\.0).joined(separator: ", ")) per switch to 0")
            }
        }
        guard problems.isEmpty, let platform else {
            throw DiagnosticError(problems.map { Diagnostic(file: diagnosticFile, line: nil, message: $0) })
        }
        return platform
    }

    /// Switch levels whose topology file stays within the reader's default nesting limit: topology,
    /// root-complex, root-port, two elements per switch level, endpoint and its bar.
    static var maxSwitchLevels: Int { (XMLLimits.default.maxDepth - 5) / 2 }

    /// Where `busesBelowRootBus(_:)` stops counting.
    static let busCountCap = 1 << 16

    /// The schema's `Name` type: `[A-Za-z_][A-Za-z0-9_.\-]{0,63}`.
    static func isSchemaName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard let first = scalars.first, scalars.count <= 64 else { return false }
        func isLetter(_ c: Unicode.Scalar) -> Bool { ("A"..."Z").contains(c) || ("a"..."z").contains(c) || c == "_" }
        return isLetter(first) && scalars.dropFirst().allSatisfy { isLetter($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }
    }

    /// Buses one root complex uses after its root bus, counted as `Enumerator` assigns them: every bridge
    /// (root port, switch upstream port, switch downstream port) takes one secondary bus. Saturates above 255.
    static func busesBelowRootBus(_ p: GeneratorParameters) -> Int {
        let cap = busCountCap
        // Buses of one switch and its subtree, from the leaf level up: its internal bus, one per downstream port.
        var switchBuses = 0
        if p.switchLevels > 0 {
            switchBuses = 1 + p.endpointsPerLeaf
            for _ in 1..<p.switchLevels { switchBuses = min(cap, 1 + p.fanout + p.fanout * switchBuses) }
        }
        return min(cap, p.rootPortsPerRootComplex * (1 + switchBuses))
    }

    /// Non-prefetchable BARs all live in the shared 32-bit hole; sizes it with the enumerator's own rule
    /// (each bridge window in 1 MiB units, items packed largest alignment first) and throws if it overflows.
    static func checkNonPrefetchableSpace(_ t: Topology, _ p: GeneratorParameters) throws(DiagnosticError) {
        var sizing = EnumerationState(topology: t, source: SourceMap(file: diagnosticFile))
        sizing.npNeed = Array(repeating: (0, 0), count: t.devices.count)
        sizing.prefNeed = sizing.npNeed
        let pool = Enumerator.mmio32Pool
        let granule = Enumerator.windowGranularity
        var cursor = pool.start
        for r in t.rootComplexes.indices {
            for d in sizing.rootBusDevices[r] where t.devices[d].kind.isBridge { sizing.sizeBridge(d) }
            let layout = sizing.layout(sizing.items(onBusOf: sizing.rootBusDevices[r]).np)
            guard layout.size > 0 else { continue }
            cursor = alignUp(cursor, max(layout.align, granule)) + alignUp(layout.size, granule)
        }
        let need = cursor - pool.start
        guard cursor - 1 > pool.end else { return }
        throw DiagnosticError(file: diagnosticFile, """
            the machine needs \(ByteSize.format(need)) of non-prefetchable MMIO, more than the \
            \(ByteSize.format(pool.size)) 32-bit MMIO hole \(pool) all root complexes share: each GPU takes 16M \
            there (BAR0) and each NVMe drive 1M (its 16K BAR0 in a bridge window); reduce the GPUs \
            (\(p.gpusPerSwitch)) or NVMe drives (\(p.nvmePerSwitch)) per switch or the number of switches, or use \
            generic endpoints, NICs or FPGAs instead, whose BARs are all 64-bit prefetchable
            """)
    }
}

// MARK: - Device catalogue

extension TopologyGenerator {
    /// The five kinds of endpoint slot a leaf switch has, in `GeneratorParameters` order.
    enum Slot: Int, CaseIterable {
        case gpu, nic, nvme, fpga, generic

        var endpointClass: EndpointClass {
            switch self {
            case .gpu: .gpu
            case .nic: .nic
            case .nvme: .nvme
            case .fpga: .fpga
            case .generic: .generic
            }
        }
        /// Name prefix: `gpu3`, `nvme0`, `dev12`.
        var namePrefix: String { self == .generic ? "dev" : endpointClass.rawValue }
    }

    /// One endpoint model: IDs to pick from and what every such device looks like.
    struct EndpointModel {
        var ids: [PCIID]
        var bars: [BAR]
        var p2pmem: [P2PMemRegion] = []
        var supportsATS = false
        var tagBits = 8
        /// Link width the card has; nil inherits the slot's (the root complex's default).
        var width: Int?
    }

    /// GPU BAR1 (the VRAM aperture) when the machine has many GPUs, so the 64-bit space stays modest.
    static let largeMachineGPUAperture: UInt64 = 256 << 20
    static let gpuAperture: UInt64 = 32 << 30
    static let maxGPUsWithFullAperture = 64

    /// Real device models per slot. GPUs follow NVIDIA's layout (lspci of A100/H100): BAR0 16M registers,
    /// non-prefetchable and 32-bit, BAR1 the prefetchable VRAM aperture; they do ATS and 10-bit tags.
    static func model(_ slot: Slot, qemu: Bool, gpuBAR1: UInt64) -> EndpointModel {
        switch (slot, qemu) {
        case (.gpu, _):
            return EndpointModel(ids: [PCIID(0x10de, 0x20b0), PCIID(0x10de, 0x2330), PCIID(0x1002, 0x740f)],
                                 bars: [BAR(index: 0, size: 16 << 20, is64Bit: false),
                                        BAR(index: 1, size: gpuBAR1, isPrefetchable: true)],
                                 supportsATS: true, tagBits: 10)
        case (.nic, false):
            // ConnectX-6, ConnectX-7, E810-C.
            return EndpointModel(ids: [PCIID(0x15b3, 0x101b), PCIID(0x15b3, 0x1021), PCIID(0x8086, 0x1592)],
                                 bars: [BAR(index: 0, size: 32 << 20, isPrefetchable: true)], supportsATS: true, width: 16)
        case (.nic, true):
            // QEMU's e1000e (82574L, x1): BAR0 registers, BAR1 flash, BAR3 MSI-X, all 32-bit; no ATS.
            return EndpointModel(ids: [PCIID(0x8086, 0x10d3)],
                                 bars: [BAR(index: 0, size: 128 << 10, is64Bit: false), BAR(index: 1, size: 128 << 10, is64Bit: false),
                                        BAR(index: 3, size: 16 << 10, is64Bit: false)],
                                 width: 1)
        case (.nvme, _):
            // PM9A3, Intel DC (Sentinel Rock), Micron 7450; QEMU nvme with cmb_size_mb. BAR2 is a controller
            // memory buffer the nvme driver publishes as p2pmem (nvme_map_cmb).
            let ids = qemu ? [PCIID(0x1b36, 0x0010)] : [PCIID(0x144d, 0xa80a), PCIID(0x8086, 0x0b60), PCIID(0x1344, 0x51c3)]
            return EndpointModel(ids: ids,
                                 bars: [BAR(index: 0, size: 16 << 10), BAR(index: 2, size: 64 << 20, isPrefetchable: true)],
                                 p2pmem: [P2PMemRegion(bar: 2)], width: 4)
        case (.fpga, _):
            // Alveo U250 (XDMA platform): its BAR0 exported as p2pmem, as FPGA P2P designs do.
            return EndpointModel(ids: [PCIID(0x10ee, 0x5004)], bars: [BAR(index: 0, size: 64 << 20, isPrefetchable: true)],
                                 p2pmem: [P2PMemRegion(bar: 0)])
        case (.generic, _):
            return EndpointModel(ids: [PCIID(0x1ded, 0x1001)], bars: [BAR(index: 0, size: 1 << 20, isPrefetchable: true)])
        }
    }

    /// Switch upstream and downstream port IDs.
    struct SwitchModel {
        var upstream: PCIID
        var downstream: PCIID
    }

    /// Broadcom PEX88000 (Gen4) and Microchip Switchtec PFX (Gen4) report one ID on every port; QEMU's
    /// x3130-upstream and xio3130-downstream differ.
    static func switchModels(qemu: Bool) -> [SwitchModel] {
        if qemu { return [SwitchModel(upstream: PCIID(0x104c, 0x8232), downstream: PCIID(0x104c, 0x8233))] }
        return [SwitchModel(upstream: PCIID(0x1000, 0xc010), downstream: PCIID(0x1000, 0xc010)),
                SwitchModel(upstream: PCIID(0x11f8, 0x4000), downstream: PCIID(0x11f8, 0x4000))]
    }

    /// What the CPU vendor (and QEMU) decide: host bridge and root port IDs, IOMMU, socket interconnect.
    struct Platform {
        var cpuFamily: Int
        var iommuKind: IOMMUKind
        var hostBridge: PCIID
        var rootPort: PCIID
        var socketLinkKind: SocketLinkKind
        var socketLinkBandwidth: DataRate
        var socketLinkLatency: Picoseconds
        var portACS: ACSFlags
        /// QEMU has one host bridge; further root complexes are pxb-pcie expanders with no function at 00.0.
        var hostBridgeOnFirstOnly: Bool

        /// Per vendor: (family, IOMMU, host bridge, root port, interconnect, its bandwidth per direction and added latency).
        /// Interconnect figures are approximate: Ice Lake-SP 3 UPI links at 11.2 GT/s; Milan 4 xGMI-2 x16 links at
        /// 16 GT/s; Ampere Altra 2P CCIX at 25 GT/s.
        static func vendorModel(_ vendor: CPUVendor) -> Platform? {
            switch vendor {
            case .intel:
                Platform(cpuFamily: 6, iommuKind: .vtd, hostBridge: PCIID(0x8086, 0x09a2), rootPort: PCIID(0x8086, 0x347a),
                         socketLinkKind: .upi, socketLinkBandwidth: DataRate(bytesPerSecond: 67_200_000_000),
                         socketLinkLatency: 60_000, portACS: .all, hostBridgeOnFirstOnly: false)
            case .amd:
                Platform(cpuFamily: 0x19, iommuKind: .amdVi, hostBridge: PCIID(0x1022, 0x1480), rootPort: PCIID(0x1022, 0x1483),
                         socketLinkKind: .xgmi, socketLinkBandwidth: DataRate(bytesPerSecond: 128_000_000_000),
                         socketLinkLatency: 100_000, portACS: .all, hostBridgeOnFirstOnly: false)
            case .arm:
                Platform(cpuFamily: 0, iommuKind: .smmuv3, hostBridge: PCIID(0x1def, 0xe100), rootPort: PCIID(0x1def, 0xe101),
                         socketLinkKind: .other, socketLinkBandwidth: DataRate(bytesPerSecond: 100_000_000_000),
                         socketLinkLatency: 150_000, portACS: .all, hostBridgeOnFirstOnly: false)
            case .zhaoxin, .other:
                nil
            }
        }

        /// The platform of the parameters' CPU vendor, made QEMU's when asked; nil for vendors without a model.
        init?(_ p: GeneratorParameters) {
            guard var platform = Platform.vendorModel(p.cpuVendor) else { return nil }
            if p.qemuCompatible {
                // q35's MCH (x86) or virt's GPEX host bridge; pcie-root-port. QEMU's pcie_acs_init gives
                // downstream ports SV TB RR CR UF DT, no EC.
                platform.hostBridge = p.cpuVendor == .arm ? PCIID(0x1b36, 0x0008) : PCIID(0x8086, 0x29c0)
                platform.rootPort = PCIID(0x1b36, 0x000c)
                platform.portACS = ACSFlags.all.subtracting(.egressControl)
                platform.hostBridgeOnFirstOnly = true
            }
            self = platform
        }

        private init(cpuFamily: Int, iommuKind: IOMMUKind, hostBridge: PCIID, rootPort: PCIID, socketLinkKind: SocketLinkKind,
                     socketLinkBandwidth: DataRate, socketLinkLatency: Picoseconds, portACS: ACSFlags, hostBridgeOnFirstOnly: Bool) {
            self.cpuFamily = cpuFamily
            self.iommuKind = iommuKind
            self.hostBridge = hostBridge
            self.rootPort = rootPort
            self.socketLinkKind = socketLinkKind
            self.socketLinkBandwidth = socketLinkBandwidth
            self.socketLinkLatency = socketLinkLatency
            self.portACS = portACS
            self.hostBridgeOnFirstOnly = hostBridgeOnFirstOnly
        }
    }
}

extension PCIID {
    fileprivate init(_ vendor: UInt16, _ device: UInt16) { self.init(vendor: vendor, device: device) }
}

// MARK: - Building

extension TopologyGenerator {
    /// Builds the device tree depth-first, parents before children, as `Topology.devices` requires.
    struct Builder {
        let p: GeneratorParameters
        let platform: Platform
        var random: SplitMix64
        let switchModel: SwitchModel
        let models: [EndpointModel]
        /// Each chosen model's ID, per slot.
        let ids: [PCIID]
        /// Endpoint slots of a leaf switch, unshuffled, in `Slot` order.
        let mix: [Slot]
        /// With no switch levels: the cycle of endpoint classes root ports take, shuffled once.
        let rootPortCycle: [Slot]
        var devices: [Device] = []
        var switches = 0
        var endpointsPerSlot = [Int](repeating: 0, count: Slot.allCases.count)
        var rootPortsSoFar = 0

        init(_ p: GeneratorParameters, platform: Platform) {
            self.p = p
            self.platform = platform
            random = SplitMix64(seed: p.seed)
            let switchModels = TopologyGenerator.switchModels(qemu: p.qemuCompatible)
            switchModel = switchModels[Builder.index(below: switchModels.count, &random)]
            let counts = [p.gpusPerSwitch, p.nicsPerSwitch, p.nvmePerSwitch, p.fpgasPerSwitch, p.genericPerSwitch]
            mix = Slot.allCases.flatMap { Array(repeating: $0, count: counts[$0.rawValue]) }
            var cycle = mix
            if p.switchLevels == 0 { Builder.shuffle(&cycle, &random) }
            rootPortCycle = cycle
            // GPUs in the whole machine decide the size of their VRAM aperture.
            let rootPorts = p.sockets * p.rootComplexesPerSocket * p.rootPortsPerRootComplex
            let gpus: Int
            if p.switchLevels == 0 {
                gpus = (0..<rootPorts).count { cycle[$0 % cycle.count] == .gpu }
            } else {
                let leaves = (1..<p.switchLevels).reduce(rootPorts) { n, _ in n * p.fanout }
                gpus = leaves * p.gpusPerSwitch
            }
            let aperture = gpus <= TopologyGenerator.maxGPUsWithFullAperture ? TopologyGenerator.gpuAperture
                : TopologyGenerator.largeMachineGPUAperture
            models = Slot.allCases.map { TopologyGenerator.model($0, qemu: p.qemuCompatible, gpuBAR1: aperture) }
            var ids: [PCIID] = []
            for model in models { ids.append(model.ids[Builder.index(below: model.ids.count, &random)]) }
            self.ids = ids
        }

        mutating func build(sharesSegment: Bool) -> Topology {
            var t = Topology(name: p.name, description: description)
            t.sockets = (0..<p.sockets).map { Socket(id: $0, cpuVendor: p.cpuVendor, cpuFamily: platform.cpuFamily) }
            t.socketLinks = (0..<max(0, p.sockets - 1)).map {
                SocketLink(a: $0, b: $0 + 1, kind: platform.socketLinkKind, bandwidth: platform.socketLinkBandwidth,
                           latency: platform.socketLinkLatency)
            }
            let count = p.sockets * p.rootComplexesPerSocket
            t.iommus = (0..<count).map { IOMMUUnit(name: "iommu\($0)", kind: platform.iommuKind, mode: p.iommuMode) }
            let link = LinkCapability(generation: p.generation, width: p.width)
            t.rootComplexes = (0..<count).map { r in
                RootComplex(name: "rc\(r)", socket: r / p.rootComplexesPerSocket, segment: sharesSegment ? 0 : UInt16(r),
                            hostBridgeID: r > 0 && platform.hostBridgeOnFirstOnly ? nil : platform.hostBridge,
                            iommu: "iommu\(r)", defaultLink: link)
            }
            for r in 0..<count { rootComplex(r) }
            t.devices = devices
            return t
        }

        var description: String {
            let shape = switch p.switchLevels {
            case 0: "one endpoint per root port"
            case 1: "1 switch level"
            default: "\(p.switchLevels) switch levels, fanout \(p.fanout)"
            }
            return "Generated: \(p.sockets) socket(s) x \(p.rootComplexesPerSocket) root complex(es) x \(p.rootPortsPerRootComplex) "
                + "root port(s), \(shape); per leaf: \(p.gpusPerSwitch) GPU, \(p.nicsPerSwitch) NIC, \(p.nvmePerSwitch) NVMe, "
                + "\(p.fpgasPerSwitch) FPGA, \(p.genericPerSwitch) generic; \(p.cpuVendor.rawValue)"
                + (p.qemuCompatible ? ", QEMU-compatible" : "") + "; seed \(p.seed)"
        }

        var portACS: ACSState? { p.acs ? ACSState(capability: platform.portACS, control: []) : nil }

        mutating func add(_ d: Device) -> Int {
            devices.append(d)
            return devices.count - 1
        }

        mutating func rootComplex(_ r: Int) {
            for j in 0..<p.rootPortsPerRootComplex {
                let port = add(Device(name: TopologyNaming.defaultName(kind: .rootPort, parentName: "rc\(r)", ordinal: j),
                                      kind: .rootPort, parent: nil, rootComplex: r, id: platform.rootPort, acs: portACS))
                if p.switchLevels == 0 {
                    endpoint(rootPortCycle[rootPortsSoFar % rootPortCycle.count], parent: port, rootComplex: r)
                } else {
                    switchTree(level: 1, parent: port, rootComplex: r)
                }
                rootPortsSoFar += 1
            }
        }

        mutating func switchTree(level: Int, parent: Int, rootComplex r: Int) {
            let name = "sw\(switches)"
            switches += 1
            let upstream = add(Device(name: name, kind: .switchUpstreamPort, parent: parent, rootComplex: r,
                                      id: switchModel.upstream, switchInfo: SwitchInfo()))
            let isLeaf = level == p.switchLevels
            var slots = mix
            if isLeaf { Builder.shuffle(&slots, &random) }
            for k in 0..<(isLeaf ? slots.count : p.fanout) {
                let port = add(Device(name: TopologyNaming.defaultName(kind: .switchDownstreamPort, parentName: name, ordinal: k),
                                      kind: .switchDownstreamPort, parent: upstream, rootComplex: r, id: switchModel.downstream,
                                      acs: portACS))
                if isLeaf {
                    endpoint(slots[k], parent: port, rootComplex: r)
                } else {
                    switchTree(level: level + 1, parent: port, rootComplex: r)
                }
            }
        }

        mutating func endpoint(_ slot: Slot, parent: Int, rootComplex r: Int) {
            let model = models[slot.rawValue]
            let name = slot.namePrefix + String(endpointsPerSlot[slot.rawValue])
            endpointsPerSlot[slot.rawValue] += 1
            let info = EndpointInfo(endpointClass: slot.endpointClass, p2pmem: model.p2pmem, supportsATS: model.supportsATS,
                                    dma: DMAEngine(tagBits: model.tagBits))
            _ = add(Device(name: name, kind: .endpoint, parent: parent, rootComplex: r, id: ids[slot.rawValue],
                           linkWidth: model.width, bars: model.bars, endpoint: info))
        }

        /// A uniform index below `n` (Lemire's multiply-high, without rejection: the bias is below 2^-58 here),
        /// written out so the sequence never depends on the standard library's algorithms.
        static func index(below n: Int, _ random: inout SplitMix64) -> Int {
            Int(random.next().multipliedFullWidth(by: UInt64(n)).high)
        }

        /// Fisher–Yates (Knuth, TAOCP vol. 2, Algorithm P).
        static func shuffle(_ slots: inout [Slot], _ random: inout SplitMix64) {
            guard slots.count > 1 else { return }
            for i in stride(from: slots.count - 1, to: 0, by: -1) {
                slots.swapAt(i, index(below: i + 1, &random))
            }
        }
    }
}
