// Linux's PCI semantics for one booted machine: ACS after boot, IOMMU groups and p2pdma answers.

/// A topology booted the way Linux boots it: the command line parsed, ACS enabled (`pci_enable_acs`), IOMMU
/// groups formed (`pci_device_group`), and the p2pdma rules ready (`calc_map_type_and_dist`). One
/// implementation of each rule, shared by the CLI, the mapping API and the simulator.
///
/// All per-function arrays are indexed like `Enumeration.functions`. The host bridge functions at 00.0 that
/// a root complex names only by ID (`host-bridge="8086:09a2"`) are devices too: they take part in IOMMU
/// groups and the p2pdma whitelist, but have no function index.
///
/// ```swift
/// let semantics = Semantics(loaded)
/// let r = semantics.p2pdma(provider: nvme, client: nic, verbose: true)
/// print(r.mapType, r.distance, r.warnings)
/// for group in semantics.iommuGroups() { print(group.number, group.members.map(\.bdf)) }
/// ```
public struct Semantics: Sendable {
    /// The machine as booted: the file's topology with the kernel it booted (`options.kernel` when given) and each
    /// IOMMU unit's `mode` replaced by the mode it booted in (the command line decides;
    /// `KernelParameters.bootMode(of:)`), so every reader (router, transport, reports)
    /// sees the configuration that was simulated. Build its `Fabric` with `Fabric(semantics)`.
    public let loaded: LoadedTopology
    /// The IOMMU modes the file gave, per unit, before the command line was applied.
    public let fileIOMMUModes: [IOMMUMode]
    /// Where the command line contradicts the machine (`intel_iommu=on` on an AMD machine), in words; the
    /// commands print them as warnings.
    public let warnings: [String]
    public let options: SemanticsOptions
    /// The command line as the booted kernel parsed it.
    public let parameters: KernelParameters
    /// Whether an IOMMU driver called `pci_request_acs()`: some IOMMU unit is present (kind != none, mode !=
    /// off) and not disabled on the command line. Like the kernel's global `pci_acs_enable`, it applies to every
    /// device of the machine, not only to those behind that IOMMU.
    public let acsRequested: Bool
    /// Per root complex: whether an active IOMMU translates for it, so its devices get IOMMU groups.
    public let iommuActive: [Bool]
    /// Per function: the ACS Control register after boot, as the hardware enforces it (nil: no ACS capability).
    /// For Intel SPT-style root ports this is the dword at capability + 8.
    public let acsControl: [ACSFlags?]
    /// Per function: the 16-bit word at ACS capability + 6 after boot, which `pci_bridge_has_acs_redir` and
    /// lspci read (nil: no ACS capability). It differs from `acsControl` only on Intel SPT-style root ports,
    /// where that word is the upper half of the capability dword (read as 0 here).
    public let acsControlWord: [UInt16?]
    /// Every boot line (command line parsing, ACS enable, IOMMU groups), debug lines included.
    public let kernelLogEntries: [KernelLogEntry]
    /// Per function: its IOMMU group number (nil: not behind an active IOMMU).
    public let groupNumbers: [Int?]

    let nodes: Nodes
    /// Per node: effective ACS control (the register the hardware uses).
    let control: [UInt16]
    /// Per node: the word at ACS capability + 6.
    let controlWord: [UInt16]
    /// Per node: `PCI_DEV_FLAGS_ACS_ENABLED_QUIRK` (the Intel PCH enable quirk ran).
    let acsQuirkEnabled: [Bool]
    /// Per node: IOMMU group number, -1 for none.
    let group: [Int]
    /// Per node: `pci_bridge_has_acs_redir`.
    let hasRedirect: [Bool]
    /// Per node: devices counted by `pci_bridge_has_acs_redir` from this node up to its root-bus device.
    let redirectPrefix: [Int32]
    /// Per node: devices on its `pci_upstream_bridge` walk, itself and the root-bus device included.
    let depth: [Int32]
    /// Per root complex: the host bridge whitelist verdicts, with and without `same_host_bridge`.
    let whitelistSame: [WhitelistVerdict]
    let whitelistCross: [WhitelistVerdict]
    /// Per root complex: the node `pci_host_bridge_dev` returns, or -1.
    let hostBridgeDevice: [Int]
    /// `cpu_supports_p2pdma()`: the boot CPU is AMD family 0x17 (Zen) or later (5.9 and later).
    public let cpuSupportsP2PDMA: Bool
    /// The kernel prints "Host bridge not in P2PDMA whitelist" (5.14 and later).
    let warnsWhitelistMiss: Bool
    let isolation: ACSIsolation
    let aliasTable: DMAAliasTable

    public init(_ loaded: LoadedTopology, options: SemanticsOptions = SemanticsOptions()) {
        self.options = options
        let kernel = options.kernel ?? loaded.topology.kernel
        var boot = Boot(loaded: loaded, options: options, kernel: kernel)
        boot.run()
        var booted = loaded
        fileIOMMUModes = loaded.topology.iommus.map(\.mode)
        for i in booted.topology.iommus.indices { booted.topology.iommus[i].mode = boot.iommuModes[i] }
        booted.topology.kernel = kernel
        self.loaded = booted
        warnings = boot.parameters.contradictions(loaded.topology)
        parameters = boot.parameters
        acsRequested = boot.acsRequested
        iommuActive = boot.iommuActive
        nodes = boot.nodes
        control = boot.control
        controlWord = boot.controlWord
        acsQuirkEnabled = boot.acsQuirkEnabled
        kernelLogEntries = boot.log
        group = boot.group
        isolation = boot.isolation
        aliasTable = DMAAliasTable(boot)

        let n = nodes.count
        let fc = nodes.functionCount
        acsControl = (0..<fc).map { boot.nodes.hasACS[$0] ? ACSFlags(rawValue: boot.control[$0]) : nil }
        acsControlWord = (0..<fc).map { boot.nodes.hasACS[$0] ? boot.controlWord[$0] : nil }
        groupNumbers = (0..<fc).map { boot.group[$0] >= 0 ? boot.group[$0] : nil }

        // p2pdma precomputation: walk depth and prefix counts of ACS-redirecting devices (reference §1.2).
        let redirectBits = ACSFlags.requestRedirect.rawValue | ACSFlags.completionRedirect.rawValue | ACSFlags.egressControl.rawValue
        var redirect = [Bool](repeating: false, count: n)
        var prefix = [Int32](repeating: 0, count: n)
        var dep = [Int32](repeating: 1, count: n)
        for i in nodes.parentsFirst {
            redirect[i] = nodes.hasACS[i] && boot.controlWord[i] & redirectBits != 0
            let u = nodes.upstream[i]
            prefix[i] = (redirect[i] ? 1 : 0) + (u >= 0 ? prefix[u] : 0)
            dep[i] = u >= 0 ? dep[u] + 1 : 1
        }
        hasRedirect = redirect
        redirectPrefix = prefix
        depth = dep

        let version = kernel.version
        let whitelist = HostBridgeWhitelist.entries(for: options.p2pdmaBranch, version: version)
        var same: [WhitelistVerdict] = []
        var cross: [WhitelistVerdict] = []
        var hostDevice: [Int] = []
        for r in loaded.topology.rootComplexes.indices {
            let root = nodes.hostBridgeDevice(rootComplex: r, rootPortAllowed: version.has(.whitelistSkylakeE))
            hostDevice.append(root ?? -1)
            guard let root else {
                same.append(.noHostBridgeDevice)
                cross.append(.noHostBridgeDevice)
                continue
            }
            same.append(HostBridgeWhitelist.verdict(nodes.id[root], sameHostBridge: true, in: whitelist))
            cross.append(HostBridgeWhitelist.verdict(nodes.id[root], sameHostBridge: false, in: whitelist))
        }
        whitelistSame = same
        whitelistCross = cross
        hostBridgeDevice = hostDevice
        let bootCPU = loaded.topology.sockets.min { $0.id < $1.id }
        cpuSupportsP2PDMA = version.has(.cpuSupportsP2PDMA) && (bootCPU.map { $0.cpuVendor == .amd && $0.cpuFamily >= 0x17 } ?? false)
        warnsWhitelistMiss = version.has(.hostBridgeWhitelistWarning)
    }

    /// The boot log as dmesg shows it at the default log level (debug lines left out).
    public var kernelLog: [String] { kernelLogEntries.filter { $0.level != .debug }.map(\.text) }

    /// `pci_upstream_bridge(dev)`: the bridge above (for a VF, the bridge above its PF); nil on a root bus.
    public func upstream(_ function: Int) -> Int? {
        let u = nodes.upstream[function]
        return u >= 0 ? u : nil
    }

    /// `pci_bridge_has_acs_redir(dev)`: the device has an ACS capability and the word at capability + 6 has
    /// RR, CR or EC set. Raw config space: ACS quirks are not consulted (reference §1.2).
    public func hasACSRedirect(_ function: Int) -> Bool { hasRedirect[function] }

    /// The name the kernel prints for a function: `0000:03:00.0` (`pci_name`).
    public func name(_ function: Int) -> String { nodes.bdf[function].description }
}

// MARK: - Devices

extension Semantics {
    /// PCIe Device/Port Type (PCIe Base §7.5.3.2) as `pci_pcie_type()` reports it, or conventional PCI.
    enum DeviceType: UInt8, Sendable {
        case endpoint, rcEndpoint, rootPort, upstreamPort, downstreamPort, pcieToPCIBridge, conventional
    }

    /// The PCI devices of the machine in dense arrays: nodes `0..<functionCount` are `Enumeration.functions`;
    /// host bridge functions named only by ID follow.
    struct Nodes: Sendable {
        var functionCount: Int
        var count: Int
        var bdf: [BDF] = []
        var id: [PCIID] = []
        var subsystem: [PCIID?] = []
        var type: [DeviceType] = []
        var isBridge: [Bool] = []
        var isMultifunction: [Bool] = []
        /// `pci_upstream_bridge`, -1 for none.
        var upstream: [Int] = []
        var rootComplex: [Int] = []
        var isVirtualFunction: [Bool] = []
        var hasACS: [Bool] = []
        var acsCapability: [UInt16] = []
        var firmwareControl: [UInt16] = []
        /// Secondary bus number of a bridge.
        var secondaryBus: [UInt8] = []
        /// `segment << 8 | bus`: which `struct pci_bus` the device sits on.
        var busKey: [Int] = []
        /// `pdev->p2pdma` exists (the device registered p2pmem) and whether it is published.
        var hasP2PDMAState: [Bool] = []
        var publishesP2PMem: [Bool] = []
        /// The bound driver's name (nil: none; host bridges named only by ID have none).
        var driver: [String?] = []
        /// Nodes in `pci_bus_add_devices` order: per root bus its devices by devfn, then each bridge's
        /// subordinate bus recursively; VFs (added when SR-IOV is enabled) last.
        var probeOrder: [Int] = []
        /// Nodes ordered so that every upstream bridge comes before the devices below it.
        var parentsFirst: [Int] = []
        /// Devices per bus, in probe order.
        var busMembers: [Int: [Int]] = [:]

        init(_ loaded: LoadedTopology) {
            let t = loaded.topology
            let e = loaded.enumeration
            functionCount = e.functions.count
            count = functionCount
            for (i, f) in e.functions.enumerated() {
                let device = f.device.map { t.devices[$0] }
                bdf.append(f.bdf)
                id.append(f.id)
                subsystem.append(device?.subsystemID)
                let parentKind = f.upstreamBridge.map { e.functions[$0].kind }
                let type: DeviceType
                switch f.kind {
                case .rootPort: type = .rootPort
                case .switchUpstreamPort: type = .upstreamPort
                case .switchDownstreamPort: type = .downstreamPort
                case .pciBridge: type = .pcieToPCIBridge
                case .endpoint:
                    if parentKind == .pciBridge || !f.isPCIe {
                        type = .conventional
                    } else {
                        type = f.upstreamBridge == nil ? .rcEndpoint : .endpoint
                    }
                }
                self.type.append(type)
                isBridge.append(f.kind.isBridge)
                upstream.append(f.upstreamBridge ?? -1)
                rootComplex.append(f.rootComplex)
                isVirtualFunction.append(f.isVirtualFunction)
                let acs = type == .conventional ? nil : device?.acs
                hasACS.append(acs != nil)
                acsCapability.append((acs?.capability.rawValue ?? 0) & ACSFlags.all.rawValue)
                firmwareControl.append((acs?.control.rawValue ?? 0) & (acs?.capability.rawValue ?? 0))
                secondaryBus.append(e.busRanges[i]?.lowerBound ?? 0)
                let regions = device?.endpoint?.p2pmem ?? []
                hasP2PDMAState.append(!regions.isEmpty && f.physicalFunction == nil)
                publishesP2PMem.append(regions.contains { $0.isPublished } && f.physicalFunction == nil)
                driver.append(device?.endpoint?.driver)
            }
            // Host bridge functions the topology names only by ID: conventional PCI at devfn 00.0.
            for (r, rc) in t.rootComplexes.enumerated() {
                guard let hostID = rc.hostBridgeID, r < e.rootComplexes.count else { continue }
                let state = e.rootComplexes[r]
                bdf.append(BDF(segment: state.segment, bus: state.busRange.lowerBound, device: 0, function: 0))
                id.append(hostID)
                subsystem.append(nil)
                type.append(.conventional)
                isBridge.append(false)
                upstream.append(-1)
                rootComplex.append(r)
                isVirtualFunction.append(false)
                hasACS.append(false)
                acsCapability.append(0)
                firmwareControl.append(0)
                secondaryBus.append(0)
                hasP2PDMAState.append(false)
                publishesP2PMem.append(false)
                driver.append(nil)
                count += 1
            }
            busKey = bdf.map { Int($0.segment) << 8 | Int($0.bus) }

            // Multifunction: the header-type bit of a device number with more than one function (VFs excluded).
            var perSlot: [Int: Int] = [:]
            for i in 0..<count where !isVirtualFunction[i] { perSlot[busKey[i] << 5 | Int(bdf[i].device), default: 0] += 1 }
            isMultifunction = (0..<count).map { !isVirtualFunction[$0] && perSlot[busKey[$0] << 5 | Int(bdf[$0].device), default: 0] > 1 }

            // Probe order.
            var children = [[Int]](repeating: [], count: count)
            var rootBus = [[Int]](repeating: [], count: t.rootComplexes.count)
            for i in 0..<count where !isVirtualFunction[i] {
                if upstream[i] >= 0 { children[upstream[i]].append(i) } else { rootBus[rootComplex[i]].append(i) }
            }
            let bdfs = bdf
            let bridges = isBridge
            func sorted(_ list: [Int]) -> [Int] { list.sorted { bdfs[$0] < bdfs[$1] } }
            var order: [Int] = []
            order.reserveCapacity(count)
            // pci_bus_add_devices: all devices of a bus, then each bridge's bus in turn (depth first).
            func addBus(_ devices: [Int]) {
                order.append(contentsOf: devices)
                for d in devices where bridges[d] { addBus(sorted(children[d])) }
            }
            for r in rootBus.indices { addBus(sorted(rootBus[r])) }
            for i in 0..<count where isVirtualFunction[i] { order.append(i) }
            probeOrder = order
            // Every upstream bridge is probed before the devices below it (VFs hang off their PF's bridge).
            parentsFirst = order
            for i in order { busMembers[busKey[i], default: []].append(i) }
        }

        /// `pci_host_bridge_dev`: the first device on the root bus if it is devfn 00.0 or (since the Sky Lake-E
        /// entries) a root port.
        func hostBridgeDevice(rootComplex r: Int, rootPortAllowed: Bool = true) -> Int? {
            var first: Int?
            for i in 0..<count where rootComplex[i] == r && upstream[i] < 0 && !isVirtualFunction[i] {
                if first.map({ bdf[i] < bdf[$0] }) ?? true { first = i }
            }
            guard let first else { return nil }
            if bdf[first].devfn == 0 || (rootPortAllowed && type[first] == .rootPort) { return first }
            return nil
        }

        /// `dev_printk` prefix at boot, before any driver binds: `pci 0000:03:00.0: ` (the bus name).
        func prefix(_ node: Int) -> String { "pci " + bdf[node].description + ": " }

        /// `dev_printk` prefix at run time (`dev_driver_string`): the bound driver's name when the topology
        /// names one (`nvme 0000:03:00.0: `), else the bus name.
        func runtimePrefix(_ node: Int) -> String { (driver[node] ?? "pci") + " " + bdf[node].description + ": " }
    }
}
