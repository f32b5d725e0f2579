// simrun import sysfs: a SysfsSnapshot of a running Linux machine, turned into a topology.

/// Converts a `SysfsSnapshot` into the importers' common facts, then into a `Topology` with the machine's
/// bus numbers, device and function numbers, BAR addresses and bridge windows pinned.
public enum SysfsImporter {
    /// Reads `ROOT/sys` and `ROOT/proc` and builds the topology.
    public static func read(root: String = "/", options: ImportOptions = ImportOptions()) throws(DiagnosticError) -> ImportResult {
        try TopologyAssembler.assemble(machine(SysfsSnapshot.read(root: root)), options: options)
    }

    /// The facts of a snapshot, with their sources and the assumptions its gaps force.
    public static func machine(_ s: SysfsSnapshot) -> ImportedMachine {
        var m = ImportedMachine(format: "sysfs", origin: s.root == "/" ? "/sys" : s.root)
        m.diagnostics = s.diagnostics
        m.sources = [
            "tree: the device paths behind sys/bus/pci/devices/* (bridges are the parents in sys/devices/pci<segment>:<bus>/...)",
            "IDs and class: vendor, device, subsystem_vendor, subsystem_device, class",
            "BARs, bridge windows, VF BARs: resource",
            "links: max_link_speed, max_link_width (LnkCap); current_link_speed, current_link_width (LnkSta)",
            "port type, bus numbers, MPS, MRRS, RCB, tags, ACS, ATS, PASID, Device Serial Number: config (binary configuration space)",
            "SR-IOV: sriov_totalvfs, sriov_numvfs, sriov_offset, sriov_stride, sriov_vf_device",
            "p2pmem: p2pmem/size, p2pmem/available, p2pmem/published",
            "NUMA: numa_node; drivers: driver links; IOMMU: sys/class/iommu, iommu and iommu_group links, sys/kernel/iommu_groups/*/type",
        ]
        if s.cpu != nil { m.sources.append("CPU: proc/cpuinfo (vendor_id, cpu family, model)") }
        if s.kernelCommandLine != nil || s.kernelRelease != nil { m.sources.append("kernel: proc/cmdline (PCI and IOMMU parameters), proc/sys/kernel/osrelease") }

        // Configuration space as non-root: the kernel returns the first 64 bytes only.
        let short = s.functions.filter { !$0.isVirtualFunction && ($0.config?.bytes.count ?? 0) <= 64 }
        if !short.isEmpty {
            m.assumptions.append("configuration space readable only to the 64-byte header for \(short.count) function\(short.count == 1 ? "" : "s") (Linux hides the rest from non-root): port type, MPS, MRRS, ACS, ATS and PASID unknown there")
            m.diagnostics.append(Diagnostic(file: m.origin, line: nil, severity: .warning,
                message: "configuration space beyond 64 bytes is not readable for \(short.count) function\(short.count == 1 ? "" : "s") (not root?): ACS, port type, MPS and MRRS are unknown for them; run as root for these facts"))
        }

        if let cpu = s.cpu {
            m.cpu = ImportedCPU(vendor: cpu.vendor, family: cpu.family, model: cpu.model)
        } else {
            m.diagnostics.append(Diagnostic(file: m.origin, line: nil, severity: .warning, message: "proc/cpuinfo not found: CPU vendor and family unknown"))
        }

        // IOMMU units and the default domain type of their groups.
        let typeOfGroup = Dictionary(s.iommuGroups.map { ($0.number, $0.type) }, uniquingKeysWith: { a, _ in a })
        for unit in s.iommus {
            guard let kind = unit.kind else {
                m.diagnostics.append(Diagnostic(file: m.origin, line: nil, severity: .warning,
                    message: "IOMMU '\(unit.name)' is not a kind PCIeSim models (dmar*, ivhd*, smmu*); left out"))
                continue
            }
            let types = s.functions.filter { $0.iommu == unit.name }.compactMap { $0.iommuGroup.flatMap { typeOfGroup[$0] ?? nil } }
            let mode: IOMMUMode
            switch types.first {
            case "identity": mode = .passthrough
            case "DMA-FQ": mode = .dmaFQ
            case "DMA": mode = .dma
            default:
                mode = s.iommuGroups.isEmpty ? .off : .dma
                m.assumptions.append("IOMMU \(unit.name): default domain type unknown (\(s.iommuGroups.isEmpty ? "no IOMMU groups: modeled as off" : "modeled as dma"))")
            }
            m.iommus.append(IOMMUUnit(name: TopologyAssembler.sanitizedName(unit.name, fallback: "iommu"), kind: kind, mode: mode))
        }
        if s.iommus.isEmpty { m.assumptions.append("no IOMMU units in sys/class/iommu: modeled without an IOMMU") }

        m.kernel = kernel(commandLine: s.kernelCommandLine, release: s.kernelRelease, assumptions: &m.assumptions)
        m.hostBridges = s.hostBridges.map { ImportedHostBridge(segment: $0.segment, bus: $0.bus) }
        m.functions = s.functions.map(function)
        if m.functions.contains(where: { $0.acs != nil }) {
            m.assumptions.append(ImportedMachine.liveACSControl)
            if let note = observedBootParameterNote(m.kernel) {
                m.assumptions.append(note)
                m.diagnostics.append(Diagnostic(file: m.origin, line: nil, severity: .warning, message: note))
            }
        }
        return m
    }

    /// The ACS parameters on a live machine's command line already acted at boot: their effect is in the observed
    /// control, and the simulator does not apply them again (issue #17).
    static func observedBootParameterNote(_ kernel: KernelConfiguration?) -> String? {
        guard let k = kernel else { return nil }
        let p = KernelParameters.parse(k)
        var names: [String] = []
        if p.disableACSRedirect != nil { names.append("pci=disable_acs_redir=") }
        if p.configACS != nil { names.append("pci=config_acs=") }
        guard !names.isEmpty else { return nil }
        return "the kernel command line sets \(names.joined(separator: " and ")): its effect is already in the ACS control read from the running machine, so the simulator does not apply it again to those ports (the parameter stays in <kernel> for what else it does)"
    }

    /// The kernel parameters that matter to PCI and IOMMU behaviour; the rest of the command line stays out.
    public static func kernel(commandLine: String?, release: String?, assumptions: inout [String]) -> KernelConfiguration? {
        guard commandLine != nil || release != nil else { return nil }
        let prefixes = ["pci=", "iommu=", "iommu.", "intel_iommu=", "amd_iommu=", "pcie_acs_override=", "pcie_ports=", "pcie_aspm"]
        let kept = (commandLine ?? "").split(separator: " ").filter { token in prefixes.contains { token.hasPrefix($0) } }
        var k = KernelConfiguration(commandLine: kept.joined(separator: " "))
        if let r = release {
            if let v = KernelVersion(parsing: r) {
                k.version = v
            } else {
                assumptions.append("kernel \(r): modeled with the mainline rules (PCIeSim knows \(KernelVersion.knownList))")
            }
        }
        return k
    }

    static func function(_ f: SysfsSnapshot.Function) -> ImportedFunction {
        var g = ImportedFunction(bdf: f.bdf, parent: f.parent)
        // Config space first (port type, MPS, ACS, ATS, DSN, ...), then the attributes sysfs states itself.
        if let cfg = f.config { g.adopt(cfg) }
        g.id = f.id
        g.subsystemID = f.subsystemID
        g.classCode = f.classCode ?? g.classCode
        g.revision = f.revision
        g.isVirtualFunction = f.isVirtualFunction
        g.isPCIe = f.isPCIe
        // LnkCap from max_link_* (from the Supported Link Speeds vector), else the capability.
        g.maxLinkGeneration = f.maxLink?.generation ?? g.maxLinkGeneration
        g.maxLinkWidth = f.maxLink?.width ?? g.maxLinkWidth
        g.linkGeneration = f.currentLink?.generation ?? g.linkGeneration
        g.linkWidth = f.currentLink?.width ?? g.linkWidth
        // BARs 0-5 and bridge windows from `resource`.
        g.barsKnown = !f.resources.isEmpty
        for (i, r) in f.resources.prefix(6).enumerated() where r.isMemory || r.isIO {
            g.bars.append(ImportedBAR(index: i, size: r.size, address: r.isUnassigned ? nil : r.start,
                                      is64Bit: r.is64Bit, isPrefetchable: r.isPrefetchable, isIO: r.isIO))
        }
        func range(_ r: SysfsSnapshot.Resource?) -> AddressRange? {
            guard let r, r.isMemory, !r.isUnassigned, r.end > r.start else { return nil }
            return AddressRange(start: r.start, end: r.end)
        }
        g.memoryWindow = range(f.memoryWindow)
        g.prefetchableWindow = range(f.prefetchableWindow)

        if let s = f.sriov, s.totalVFs > 0 {
            var vfBars: [ImportedBAR] = []
            for (i, r) in f.iovResources.enumerated() where r.isMemory && r.size > 0 {
                vfBars.append(ImportedBAR(index: i, size: r.size / UInt64(s.totalVFs), address: nil, is64Bit: r.is64Bit, isPrefetchable: r.isPrefetchable))
            }
            let fromConfig = f.config?.sriov.value
            g.sriov = ImportedSRIOV(totalVFs: s.totalVFs, enabledVFs: s.numVFs, offset: s.offset ?? fromConfig?.firstVFOffset,
                                    stride: s.stride ?? fromConfig?.vfStride, vfDevice: s.vfDevice ?? fromConfig?.vfDeviceID, bars: vfBars)
        }   // else: config space's SR-IOV capability, if any (adopt)
        if let p = f.p2pmem, let size = p.size, size > 0 {
            g.p2pmem = ImportedP2PMem(size: size, available: p.available, isPublished: p.isPublished ?? true)
        }
        g.driver = f.driver
        g.numaNode = f.numaNode
        g.iommuGroup = f.iommuGroup
        g.iommuUnit = f.iommu.map { TopologyAssembler.sanitizedName($0, fallback: "iommu") }
        return g
    }
}
