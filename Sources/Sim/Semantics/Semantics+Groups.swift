// DMA aliases (pci_for_each_dma_alias) and IOMMU group formation (pci_device_group), reference §4.

/// An IOMMU group as `/sys/kernel/iommu_groups/<number>/devices` lists it.
public struct IOMMUGroup: Hashable, Sendable {
    public struct Member: Hashable, Sendable {
        public var bdf: BDF
        /// Index in `Enumeration.functions`; nil for a host bridge function the topology names only by ID.
        public var function: Int?
    }
    /// Group number: groups are numbered in the order devices are probed.
    public var number: Int
    /// Members sorted by BDF.
    public var members: [Member]
    /// The member BDFs as sysfs prints them (`0000:03:00.0`).
    public var names: [String] { members.map(\.bdf.description) }
}

/// One requester ID `pci_for_each_dma_alias` reports for a device.
public struct DMAAlias: Hashable, Sendable {
    /// The device the alias is reported for (the function itself, or a bridge above it); nil for a host
    /// bridge function the topology names only by ID.
    public var device: Int?
    /// The requester ID the IOMMU sees.
    public var requester: BDF
}

extension Semantics.Boot {
    /// Per node: `dev->dma_alias_mask` from the DMA alias quirks (drivers/pci/quirks.c), as devfns on its bus.
    func dmaAliasMask(_ n: Int) -> [Int] {
        let id = nodes.id[n]
        let b = nodes.bdf[n]
        let slot = Int(b.device)
        let fn = Int(b.function)
        switch (id.vendor, id.device) {
        case (0x1180, 0xe832), (0x1180, 0xe476), (0x6766, 0x3d40), (0x6766, 0x3d41):
            // quirk_dma_func0_alias: Ricoh, Glenfly use function 0 as requester.
            return fn != 0 ? [slot << 3] : []
        case (0x1b4b, 0x9120), (0x1b4b, 0x9123), (0x1b4b, 0x9125), (0x1b4b, 0x9128), (0x1b4b, 0x9130),
             (0x1b4b, 0x9170), (0x1b4b, 0x9172), (0x1b4b, 0x917a), (0x1b4b, 0x9182), (0x1b4b, 0x9183),
             (0x1b4b, 0x91a0), (0x1b4b, 0x9215), (0x1b4b, 0x9220), (0x1b4b, 0x9230), (0x1b4b, 0x9235),
             (0x1103, 0x0642), (0x1103, 0x0645), (0x197b, 0x2392), (0x1c28, 0x0122):
            // quirk_dma_func1_alias: Marvell SATA, TTI, JMicron JMB388, Plextor M6e use function 1.
            return fn != 1 ? [slot << 3 | 1] : []
        case (0x9005, 0x0285):
            // quirk_fixed_dma_alias: Adaptec 3405 / 3805 (by subsystem) DMA as 01.0.
            if let sub = nodes.subsystem[n], sub.vendor == 0x9005, sub.device == 0x02bb || sub.device == 0x02bc {
                return [1 << 3]
            }
            return []
        case (0x8086, 0x2260), (0x8086, 0x2264):
            // quirk_mic_x200_dma_alias: 10.0, 11.0, 12.3.
            return [0x10 << 3, 0x11 << 3, 0x12 << 3 | 3]
        case (0x8086, 0x2954), (0x8086, 0x2955), (0x8086, 0x2956), (0x8086, 0x2958), (0x8086, 0x2959), (0x8086, 0x295a):
            // quirk_pex_vca_alias: every slot, functions 0-4.
            return (0..<32).flatMap { s in (0..<5).map { s << 3 | $0 } }
        default:
            return []
        }
    }
}

/// The DMA alias facts of every node, computed once.
struct DMAAliasTable: Sendable {
    /// Per node: `dma_alias_mask` devfns, sorted.
    var mask: [[Int]]

    init(_ boot: Semantics.Boot) {
        mask = (0..<boot.nodes.count).map { Array(Set(boot.dmaAliasMask($0))).sorted() }
    }

    /// `PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT`: Broadcom Vulcan root ports `14e4:9000`/`9084`.
    static func isTranslationRoot(_ id: PCIID) -> Bool { id.vendor == 0x14e4 && (id.device == 0x9000 || id.device == 0x9084) }
    /// `PCI_DEV_FLAGS_PCI_BRIDGE_NO_ALIAS`: ASPEED AST1150 forwards requester IDs.
    static func isNoAliasBridge(_ id: PCIID) -> Bool { id.vendor == 0x1a03 && id.device == 0x1150 }

    /// `pci_devs_are_dma_aliases(a, b)` for two devices on one bus.
    func areAliases(_ nodes: Semantics.Nodes, _ a: Int, _ b: Int) -> Bool {
        mask[a].contains(Int(nodes.bdf[b].devfn)) || mask[b].contains(Int(nodes.bdf[a].devfn))
    }

    /// `pci_for_each_dma_alias(pdev, fn)` (drivers/pci/search.c): `fn(dev, own RID)`, `fn(dev, alias)` for each
    /// devfn of the alias mask, then up the buses: root, upstream and downstream ports add nothing; a
    /// PCIe-to-PCI bridge adds (secondary bus, 00.0) unless quirked `NO_ALIAS`; a conventional bridge adds its
    /// own RID; a bridge flagged `XLATE_ROOT` ends the walk. Stops when `fn` returns true.
    /// VMD (`pci_real_dma_dev`) is not modelled.
    @discardableResult
    func forEach(_ nodes: Semantics.Nodes, _ start: Int, _ fn: (Int, BDF) -> Bool) -> Bool {
        let b = nodes.bdf[start]
        if fn(start, b) { return true }
        for devfn in mask[start] {
            if fn(start, BDF(segment: b.segment, bus: b.bus, device: UInt8(devfn >> 3), function: UInt8(devfn & 7))) { return true }
        }
        var t = nodes.upstream[start]
        while t >= 0 {
            if Self.isTranslationRoot(nodes.id[t]) { return false }
            switch nodes.type[t] {
            case .rootPort, .upstreamPort, .downstreamPort:
                break
            case .pcieToPCIBridge:
                if !Self.isNoAliasBridge(nodes.id[t]) {
                    let rid = BDF(segment: nodes.bdf[t].segment, bus: nodes.secondaryBus[t], device: 0, function: 0)
                    if fn(t, rid) { return true }
                }
            case .conventional, .endpoint, .rcEndpoint:
                if fn(t, nodes.bdf[t]) { return true }
            }
            t = nodes.upstream[t]
        }
        return false
    }
}

extension Semantics.Boot {
    /// Probes every device behind an active IOMMU in `pci_bus_add_devices` order and assigns its group with
    /// `pci_device_group` (drivers/iommu/iommu.c), logging "Adding to iommu group N" as
    /// `iommu_group_add_device` does. Groups are numbered in allocation order. AMD-Vi does not group the root
    /// complex function at 00:00.0 (it is not an IVRS device), so a host bridge named only by ID on an AMD-Vi
    /// root complex gets no group.
    mutating func formGroups() {
        let aliases = DMAAliasTable(self)
        let isolation = self.isolation
        let requiredFlags = ACSFlags.requiredForIsolation.rawValue
        var probed = [Bool](repeating: false, count: nodes.count)
        var nextGroup = 0
        let amdRoots = Set(loaded.topology.rootComplexes.indices.filter { r in
            loaded.topology.rootComplexes[r].iommu.flatMap { name in loaded.topology.iommus.first { $0.name == name } }?.kind == .amdVi
        })
        for n in nodes.probeOrder {
            probed[n] = true
            let r = nodes.rootComplex[n]
            guard iommuActive[r] else { continue }
            if n >= nodes.functionCount, amdRoots.contains(r) { continue }
            let g = deviceGroup(n, aliases: aliases, isolation: isolation, required: requiredFlags, probed: probed)
            if let g {
                group[n] = g
            } else {
                group[n] = nextGroup
                nextGroup += 1
            }
            emit(.info, n, "Adding to iommu group \(group[n])")
        }
    }

    /// `pci_device_group(dev)`: nil means "allocate a new group".
    /// 1. Walk the DMA aliases; a device on the walk that already has a group (the PCIe-to-PCI bridge above a
    ///    conventional device) gives its group.
    /// 2. From the last device of that walk, go up while the bridge above is not ACS-isolated all the way to
    ///    the root (`pci_acs_path_enabled(bus->self, NULL, REQ_ACS_FLAGS)`); join the first such bridge's group.
    /// 3. Join the group of a device on the same bus that aliases it or that it aliases (recursively).
    /// 4. Join the group of a non-isolated function of the same multifunction slot (and its aliases).
    func deviceGroup(_ dev: Int, aliases: DMAAliasTable, isolation: ACSIsolation, required: UInt16, probed: [Bool]) -> Int? {
        var last = dev
        var found: Int?
        aliases.forEach(nodes, dev) { d, _ in
            last = d
            if group[d] >= 0 {
                found = group[d]
                return true
            }
            return false
        }
        if let found { return found }
        var p = last
        var bridge = nodes.upstream[p]
        while bridge >= 0 {
            if isolation.pathEnabled(bridge, required) { break }
            p = bridge
            if group[p] >= 0 { return group[p] }
            bridge = nodes.upstream[bridge]
        }
        var visited = Set<Int>()
        if let g = aliasGroup(p, &visited, aliases, isolation, required, probed) { return g }
        return functionAliasGroup(p, &visited, aliases, isolation, required, probed)
    }

    /// Devices `for_each_pci_dev` sees on `n`'s bus: boot-time devices, and VFs once they are added.
    func busPeers(_ n: Int, _ probed: [Bool]) -> [Int] {
        (nodes.busMembers[nodes.busKey[n]] ?? []).filter { !nodes.isVirtualFunction[$0] || probed[$0] }
    }

    /// `get_pci_alias_group(pdev, devfns)`.
    func aliasGroup(_ p: Int, _ visited: inout Set<Int>, _ aliases: DMAAliasTable, _ isolation: ACSIsolation,
                    _ required: UInt16, _ probed: [Bool]) -> Int? {
        guard visited.insert(Int(nodes.bdf[p].devfn)).inserted else { return nil }
        if group[p] >= 0 { return group[p] }
        for t in busPeers(p, probed) where t != p && aliases.areAliases(nodes, p, t) {
            if let g = aliasGroup(t, &visited, aliases, isolation, required, probed) { return g }
            if let g = functionAliasGroup(t, &visited, aliases, isolation, required, probed) { return g }
        }
        return nil
    }

    /// `get_pci_function_alias_group(pdev, devfns)`: only for a multifunction device that is not ACS-isolated.
    func functionAliasGroup(_ p: Int, _ visited: inout Set<Int>, _ aliases: DMAAliasTable, _ isolation: ACSIsolation,
                            _ required: UInt16, _ probed: [Bool]) -> Int? {
        guard nodes.isMultifunction[p], !isolation.enabled(p, required) else { return nil }
        for t in busPeers(p, probed) where t != p && nodes.bdf[t].device == nodes.bdf[p].device && !isolation.enabled(t, required) {
            if let g = aliasGroup(t, &visited, aliases, isolation, required, probed) { return g }
        }
        return nil
    }
}

extension Semantics {
    /// The IOMMU groups as `/sys/kernel/iommu_groups` lists them: numbered in probe order, members sorted by
    /// BDF. Empty when no IOMMU is active.
    public func iommuGroups() -> [IOMMUGroup] {
        var members: [Int: [IOMMUGroup.Member]] = [:]
        for n in 0..<nodes.count where group[n] >= 0 {
            members[group[n], default: []].append(IOMMUGroup.Member(bdf: nodes.bdf[n], function: n < nodes.functionCount ? n : nil))
        }
        return members.keys.sorted().map { g in
            IOMMUGroup(number: g, members: members[g]!.sorted { $0.bdf < $1.bdf })
        }
    }

    /// The requester IDs `pci_for_each_dma_alias` reports for a function, in the order it reports them.
    public func dmaAliases(of function: Int) -> [DMAAlias] {
        var out: [DMAAlias] = []
        aliasTable.forEach(nodes, function) { d, rid in
            out.append(DMAAlias(device: d < nodes.functionCount ? d : nil, requester: rid))
            return false
        }
        return out
    }
}
