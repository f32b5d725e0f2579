// The simulated backend: p2pdma providers, the DMA API over IOMMU domains, iommu_map/unmap and VFIO type1.

/// A `MappingBackend` over a simulated machine. One IOMMU domain per IOMMU group, typed by the kernel's default
/// (the unit's mode as it booted: `Semantics` applies `iommu.passthrough=`, `iommu.strict=` and the rest); P2P decisions come from `Semantics` (one implementation).
public struct SimulatedBackend: MappingBackend {
    public let name = "simulated"
    public let semantics: Semantics
    public let fabric: Fabric
    var session: P2PDMASession
    public private(set) var kernelLog: [String] = []

    /// `struct pci_p2pdma` of a provider.
    struct Provider {
        var regions: [(range: AddressRange, bar: Int)] = []
        var published = false
        /// genpool: allocated [start, end) ranges, sorted.
        var allocated: [(start: UInt64, end: UInt64)] = []
    }
    var providers: [Int: Provider] = [:]
    /// Domains, by id; a group's default domain is created at first use.
    public private(set) var domains: [IOMMUDomain] = []
    var groupDomain: [Int: Int] = [:]
    /// IOVA allocator cursor per domain (top-down below 4 GiB first, as iommu-dma tries a 32-bit IOVA first).
    var iovaCursor: [Int: UInt64] = [:]
    var iovaAllocations: [Int: [UInt64: UInt64]] = [:]   // domain -> iova -> size
    public var overlapBehaviour: OverlapBehaviour = .eexist
    /// The user-space side: which functions are bound to vfio-pci, the container and the process memory.
    public var vfio = SimulatedVFIO()

    public static let pageSize: UInt64 = 4096

    /// IOVA ranges iommu-dma reserves in every DMA domain: the root complexes' MMIO windows (or the 32-bit MMIO
    /// hole they share) and the x86 MSI doorbell range 0xfee00000-0xfeefffff (IOMMU_RESV_MSI).
    var reservedIOVARanges: [AddressRange] {
        var r = fabric.enumeration.rootComplexes.flatMap { [$0.mmio32, $0.mmio64].compactMap { $0 } }
        r.append(Enumerator.mmio32Pool)
        r.append(AddressRange(start: 0xFEE0_0000, end: 0xFEEF_FFFF))
        return r
    }

    public init(_ loaded: LoadedTopology, options: SemanticsOptions = SemanticsOptions()) {
        semantics = Semantics(loaded, options: options)
        fabric = Fabric(semantics)
        session = P2PDMASession(semantics)
    }

    func prefix(_ f: Int) -> String { "pci \(fabric.bdf(f)): " }

    // MARK: - Queries

    public mutating func pciP2PDMADistance(provider: Int, client: Int, verbose: Bool) -> Knowable<Int> {
        let r = session.p2pdma(provider: provider, client: client, verbose: verbose)
        kernelLog += r.warnings
        return .known(r.kernelDistance)
    }

    public mutating func pciP2PDMAMapType(provider: Int, client: Int) -> Knowable<P2PMapType> {
        let before = session.cachedPairs
        let type = session.cachedMapType(provider: provider, client: client)
        if type != .unknown { return .known(type) }
        let r = session.p2pdma(provider: provider, client: client, verbose: true)
        if session.cachedPairs >= before { kernelLog += r.warnings }
        return .known(r.mapType)
    }

    public func iommuGroup(of device: Int) -> Knowable<Int> {
        guard device < semantics.groupNumbers.count, let g = semantics.groupNumbers[device] else { return .unknown("no IOMMU group") }
        return .known(g)
    }

    public func acsControl(of device: Int) -> Knowable<ACSFlags?> { .known(semantics.acsControl[device]) }

    // MARK: - p2pdma provider

    /// `pcim_p2pdma_init(pdev)`: 0 if already set up. (Devices with non-mappable BARs would get -EOPNOTSUPP;
    /// the model has none.)
    public mutating func pcimP2PDMAInit(_ device: Int) {
        if providers[device] == nil { providers[device] = Provider() }
    }

    /// `pci_p2pdma_add_resource(pdev, bar, size, offset)`: -EINVAL for a BAR that is not MEM, `offset >= len`,
    /// or `size + offset > len`; `size == 0` means the rest of the BAR.
    public mutating func pciP2PDMAAddResource(_ device: Int, bar: Int, size: UInt64, offset: UInt64) throws(MappingError) {
        let fn = "pci_p2pdma_add_resource"
        guard let base = fabric.barAddress(function: device, index: bar), let d = fabric.enumeration.functions[device].device,
              let len = fabric.topology.devices[d].bars.first(where: { $0.index == bar })?.size else {
            throw MappingError(fn, .EINVAL, "BAR \(bar) is not a memory BAR of \(fabric.bdf(device))")
        }
        guard offset < len else { throw MappingError(fn, .EINVAL, "offset 0x\(hex(offset, 1)) >= BAR length 0x\(hex(len, 1))") }
        let size = size == 0 ? len - offset : size
        guard size + offset <= len else { throw MappingError(fn, .EINVAL, "size + offset exceeds the BAR") }
        pcimP2PDMAInit(device)
        let range = AddressRange(start: base + offset, size: size)
        providers[device]!.regions.append((range, bar))
        kernelLog.append(prefix(device) + "added peer-to-peer DMA memory 0x\(hex(range.start, 1))-0x\(hex(range.end, 1))")
    }

    /// `pci_p2pmem_publish(pdev, publish)`.
    public mutating func pciP2PMemPublish(_ device: Int, _ publish: Bool) {
        providers[device]?.published = publish
    }

    /// `pci_alloc_p2pmem(pdev, size)`: an address in the provider's pool (PAGE_SIZE granularity), or nil when
    /// the device has no p2pdma state or the pool is exhausted. The model's "kernel VA" is the CPU physical address.
    public mutating func pciAllocP2PMem(_ device: Int, size: UInt64) -> UInt64? {
        guard var p = providers[device], size > 0 else { return nil }
        let need = alignUp(size, SimulatedBackend.pageSize)
        for region in p.regions {
            var cursor = region.range.start
            for a in p.allocated where a.end > region.range.start && a.start <= region.range.end {
                if a.start >= cursor + need { break }
                cursor = max(cursor, a.end)
            }
            if cursor + need - 1 <= region.range.end {
                let at = p.allocated.firstIndex { $0.start > cursor } ?? p.allocated.count
                p.allocated.insert((cursor, cursor + need), at: at)
                providers[device] = p
                return cursor
            }
        }
        return nil
    }

    /// `pci_free_p2pmem(pdev, addr, size)`.
    public mutating func pciFreeP2PMem(_ device: Int, address: UInt64, size: UInt64) {
        providers[device]?.allocated.removeAll { $0.start == address }
    }

    /// `pci_p2pmem_virt_to_bus(pdev, addr)`: 0 for a nil address or a device without p2pdma state. The bus
    /// offset (pci_bus_address - resource_start) is 0: the model's host bridges do not translate MMIO addresses.
    public func pciP2PMemVirtToBus(_ device: Int, address: UInt64?) -> UInt64 {
        guard let address, providers[device] != nil else { return 0 }
        return address
    }

    /// sysfs `p2pmem/{size,available,published}` of a provider.
    public func p2pmemSysfs(_ device: Int) -> (size: UInt64, available: UInt64, published: Bool)? {
        guard let p = providers[device] else { return nil }
        let size = p.regions.reduce(0) { $0 + $1.range.size }
        let used = p.allocated.reduce(0) { $0 + ($1.end - $1.start) }
        return (size, size - used, p.published)
    }

    /// The provider whose p2pmem holds a physical address (the page's pgmap), if any.
    func provider(of physical: UInt64) -> Int? {
        for (f, p) in providers where p.regions.contains(where: { $0.range.contains(physical) }) { return f }
        return nil
    }

    // MARK: - IOMMU domains

    /// The default domain of a device's group (`iommu_get_domain_for_dev`), nil without an IOMMU.
    public mutating func iommuGetDomainForDev(_ device: Int) -> Int? {
        let rc = fabric.enumeration.functions[device].rootComplex
        guard semantics.iommuActive[rc], let group = semantics.groupNumbers[device] else { return nil }
        if let d = groupDomain[group] { return d }
        let unit = fabric.topology.rootComplexes[rc].iommu.flatMap { n in fabric.topology.iommus.first { $0.name == n } }
        let type: IOMMUDomainType
        switch unit?.mode {
        case .passthrough?: type = .identity
        case .dmaFQ?: type = .dmaFQ
        default: type = .dma
        }
        let id = iommuDomainAlloc(type, pageSizes: unit?.pageSizes ?? [4096, 2 << 20, 1 << 30])
        groupDomain[group] = id
        return id
    }

    /// `iommu_domain_alloc` / `iommu_paging_domain_alloc`: a new domain of the given type.
    public mutating func iommuDomainAlloc(_ type: IOMMUDomainType, pageSizes: [UInt64] = [4096, 2 << 20, 1 << 30]) -> Int {
        domains.append(IOMMUDomain(type: type, pageSizes: pageSizes, overlap: overlapBehaviour))
        return domains.count - 1
    }

    /// A write to sysfs `/sys/kernel/iommu_groups/N/type` (`iommu_group_store_type`): `identity`, `DMA`,
    /// `DMA-FQ` or `auto`. -EACCES without CAP_SYS_ADMIN and CAP_SYS_RAWIO; -EPERM while a driver is bound,
    /// except the DMA to DMA-FQ switch; -EINVAL for another string.
    public mutating func iommuGroupStoreType(group: Int, _ text: String, privileged: Bool, driverBound: Bool) throws(MappingError) {
        let fn = "iommu_group_store_type"
        guard privileged else { throw MappingError(fn, .EACCES, "needs CAP_SYS_ADMIN and CAP_SYS_RAWIO") }
        let requested: IOMMUDomainType
        switch text.trimmingSpaces {
        case "identity": requested = .identity
        case "DMA": requested = .dma
        case "DMA-FQ": requested = .dmaFQ
        case "auto": requested = .dma
        default: throw MappingError(fn, .EINVAL, "unknown domain type '\(text)'")
        }
        guard let member = semantics.groupNumbers.firstIndex(of: group), let current = iommuGetDomainForDev(member) else {
            throw MappingError(fn, .EINVAL, "no IOMMU group \(group)")
        }
        if driverBound, !(domains[current].type == .dma && requested == .dmaFQ) {
            throw MappingError(fn, .EPERM, "a driver is bound to a device of group \(group)")
        }
        if domains[current].type == .dma && requested == .dmaFQ {
            domains[current].type = .dmaFQ   // the flush queue is switched on in place
        } else {
            groupDomain[group] = iommuDomainAlloc(requested)
        }
    }

    /// `iommu_attach_group(domain, group)`: the group's devices now translate through `domain`.
    public mutating func iommuAttachGroup(domain: Int, group: Int) throws(MappingError) {
        guard domains.indices.contains(domain) else { throw MappingError("iommu_attach_group", .EINVAL, "no such domain") }
        groupDomain[group] = domain
    }

    /// `iommu_map(domain, iova, paddr, size, prot, GFP_KERNEL)`.
    public mutating func iommuMap(domain: Int, iova: UInt64, physical: UInt64, size: UInt64, prot: IOMMUProt) throws(MappingError) {
        guard domains.indices.contains(domain) else { throw MappingError("iommu_map", .EINVAL, "no such domain") }
        let logMark = domains[domain].log.count
        defer { kernelLog += domains[domain].log.suffix(from: logMark) }
        try domains[domain].map(iova: iova, physical: physical, size: size, prot: prot)
    }

    /// `iommu_unmap(domain, iova, size)`: bytes unmapped.
    public mutating func iommuUnmap(domain: Int, iova: UInt64, size: UInt64) -> UInt64 {
        guard domains.indices.contains(domain) else { return 0 }
        return domains[domain].unmap(iova: iova, size: size)
    }

    /// `iommu_iova_to_phys(domain, iova)`.
    public func iommuIOVAToPhys(domain: Int, iova: UInt64) -> UInt64 {
        domains.indices.contains(domain) ? domains[domain].iovaToPhys(iova) : 0
    }

    // MARK: - DMA API

    /// `DMA_MAPPING_ERROR`.
    public static let dmaMappingError = UInt64.max

    mutating func allocateIOVA(domain: Int, size: UInt64) -> UInt64? {
        // iommu-dma: size-aligned allocation, top-down below the 32-bit boundary first (alloc_iova_fast).
        var length = SimulatedBackend.pageSize
        while length < size { length <<= 1 }
        var cursor = iovaCursor[domain] ?? (1 << 32)
        // iova_reserve_iommu_regions / iova_reserve_pci_windows (drivers/iommu/dma-iommu.c): the host bridges'
        // MMIO windows and the x86 MSI range are never handed out, so an IOVA cannot alias a peer's BAR.
        let reserved = reservedIOVARanges
        while true {
            guard cursor >= length else { return nil }
            let candidate = (cursor - length) & ~(length - 1)
            let range = AddressRange(start: candidate, size: length)
            guard let hit = reserved.first(where: { $0.overlaps(range) }) else {
                cursor = candidate
                break
            }
            cursor = hit.start
        }
        iovaCursor[domain] = cursor
        iovaAllocations[domain, default: [:]][cursor] = length
        return cursor
    }

    /// `dma_map_resource(dev, phys_addr, size, dir, attrs)`: maps MMIO for a device. Returns the DMA address;
    /// a failure is `DMA_MAPPING_ERROR` in the kernel and an error here. No P2P check is made (as in the kernel).
    public mutating func dmaMapResource(_ device: Int, physical: UInt64, size: UInt64, direction: DMADirection) throws(MappingError) -> UInt64 {
        guard let d = iommuGetDomainForDev(device) else { return physical }   // dma-direct: phys_to_dma
        switch domains[d].type {
        case .identity: return physical
        case .blocked: throw MappingError("dma_map_resource", .EIO, "device is attached to a blocked domain")
        default: break
        }
        let offset = physical & (SimulatedBackend.pageSize - 1)
        let length = alignUp(size + offset, SimulatedBackend.pageSize)
        guard let iova = allocateIOVA(domain: d, size: length) else { throw MappingError("dma_map_resource", .ENOMEM, "IOVA space exhausted") }
        do {
            try domains[d].map(iova: iova, physical: physical - offset, size: length, prot: direction.prot.union(.mmio))
        } catch {
            iovaAllocations[d]?[iova] = nil
            throw MappingError("dma_map_resource", error.errno, error.reason)
        }
        return iova + offset
    }

    /// `dma_unmap_resource(dev, addr, size, dir, attrs)`.
    public mutating func dmaUnmapResource(_ device: Int, address: UInt64, size: UInt64) {
        guard let d = iommuGetDomainForDev(device), domains[d].type.isPaging else { return }
        let iova = address & ~(SimulatedBackend.pageSize - 1)
        if let length = iovaAllocations[d]?[iova] {
            _ = domains[d].unmap(iova: iova, size: length)
            iovaAllocations[d]?[iova] = nil
        }
    }

    /// `dma_map_sgtable(dev, sgt, dir, attrs)`: 0 or a negative errno. P2P pages follow their map type:
    /// BUS_ADDR gets the bus address and no IOVA, THRU_HOST_BRIDGE maps like RAM, anything else fails the whole
    /// call with -EREMOTEIO after unwinding what was mapped (iommu_dma_map_sg / dma_direct_map_sg).
    public mutating func dmaMapSGTable(_ device: Int, _ table: inout SGTable, direction: DMADirection) throws(MappingError) {
        let domain = iommuGetDomainForDev(device)
        let paging = domain.map { domains[$0].type.isPaging } ?? false
        var mapped: [Int] = []
        for i in table.entries.indices {
            let entry = table.entries[i]
            if let provider = provider(of: entry.physical) {
                let type = pciP2PDMAMapType(provider: provider, client: device).value ?? .notSupported
                switch type {
                case .busAddress:
                    table.entries[i].dmaAddress = pciP2PMemVirtToBus(provider, address: entry.physical)
                    table.entries[i].isBusAddress = true
                    mapped.append(i)
                    continue
                case .thruHostBridge, .none:
                    break
                default:
                    unwind(&table, mapped, domain: domain)
                    throw MappingError("dma_map_sgtable", .EREMOTEIO,
                                       "\(fabric.bdf(device)) cannot reach the P2P memory of \(fabric.bdf(provider)) (\(type.kernelName))")
                }
            }
            if paging, let d = domain {
                let offset = entry.physical & (SimulatedBackend.pageSize - 1)
                let length = alignUp(entry.length + offset, SimulatedBackend.pageSize)
                guard let iova = allocateIOVA(domain: d, size: length) else {
                    unwind(&table, mapped, domain: domain)
                    throw MappingError("dma_map_sgtable", .ENOMEM, "IOVA space exhausted")
                }
                do {
                    try domains[d].map(iova: iova, physical: entry.physical - offset, size: length, prot: direction.prot)
                } catch {
                    iovaAllocations[d]?[iova] = nil
                    unwind(&table, mapped, domain: domain)
                    throw MappingError("dma_map_sgtable", error.errno == .ENOMEM ? .ENOMEM : .EINVAL, error.reason)
                }
                table.entries[i].dmaAddress = iova + offset
            } else {
                table.entries[i].dmaAddress = entry.physical
            }
            mapped.append(i)
        }
    }

    /// `dma_map_sg_attrs`: the number of mapped entries, or 0 on any error (it collapses the errno).
    public mutating func dmaMapSGAttrs(_ device: Int, _ table: inout SGTable, direction: DMADirection) -> Int {
        do {
            try dmaMapSGTable(device, &table, direction: direction)
            return table.entries.count
        } catch {
            return 0
        }
    }

    /// `dma_unmap_sgtable`: bus-address segments only lose their mark; IOVAs are unmapped and freed.
    public mutating func dmaUnmapSGTable(_ device: Int, _ table: inout SGTable) {
        unwind(&table, Array(table.entries.indices), domain: iommuGetDomainForDev(device))
    }

    mutating func unwind(_ table: inout SGTable, _ indices: [Int], domain: Int?) {
        for i in indices {
            defer {
                table.entries[i].dmaAddress = nil
                table.entries[i].isBusAddress = false
            }
            guard !table.entries[i].isBusAddress, let d = domain, domains[d].type.isPaging, let a = table.entries[i].dmaAddress else { continue }
            let iova = a & ~(SimulatedBackend.pageSize - 1)
            if let length = iovaAllocations[d]?[iova] {
                _ = domains[d].unmap(iova: iova, size: length)
                iovaAllocations[d]?[iova] = nil
            }
        }
    }

    /// Translates a device's DMA address the way its domain would at the root complex (for the router and the DES).
    public func translation(requester: Int, address: UInt64) -> TranslationOutcome {
        let rc = fabric.enumeration.functions[requester].rootComplex
        guard semantics.iommuActive[rc], let group = semantics.groupNumbers[requester] else { return .noIOMMU }
        guard let d = groupDomain[group] else { return .fault("device \(fabric.bdf(requester)) has no domain attached yet") }
        switch domains[d].type {
        case .identity: return .identity
        case .blocked: return .fault("blocked domain")
        default:
            guard let leaf = domains[d].leaf(containing: address) else {
                return .fault("no mapping for IOVA 0x\(hex(address, 1)) in domain \(d)")
            }
            return .translated(leaf.physical + (address - leaf.iova))
        }
    }
}

/// The backend's domains as the router's IOMMU.
public struct DomainTranslator: AddressTranslator {
    public let backend: SimulatedBackend
    public init(_ backend: SimulatedBackend) { self.backend = backend }
    public func translate(requester: Int, address: UInt64, isWrite: Bool) -> TranslationOutcome {
        backend.translation(requester: requester, address: address)
    }
}
