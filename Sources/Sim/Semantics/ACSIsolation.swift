// pci_acs_enabled() with the device quirk table, pci_acs_path_enabled() and REQ_ACS_FLAGS (reference §4).

extension ACSFlags {
    /// `REQ_ACS_FLAGS` (drivers/iommu/iommu.c): SV | RR | CR | UF, what an IOMMU group boundary needs.
    public static let requiredForIsolation: ACSFlags = [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding]
}

/// Whether devices isolate peer-to-peer traffic, as `pci_acs_enabled` decides from the ACS state after boot.
struct ACSIsolation: Sendable {
    let nodes: Semantics.Nodes
    /// Effective ACS control per node after boot.
    let control: [UInt16]
    /// `PCI_DEV_FLAGS_ACS_ENABLED_QUIRK` per node.
    let quirkEnabled: [Bool]
    /// The out-of-tree `pcie_acs_override=` options, when that patch is modelled.
    let acsOverride: KernelParameters.ACSOverride?
    /// An ACPI IVRS table exists (an AMD-Vi IOMMU is described by firmware), for `pci_quirk_amd_sb_acs`.
    let hasIVRS: Bool

    static let sv: UInt16 = 0x01, tb: UInt16 = 0x02, rr: UInt16 = 0x04, cr: UInt16 = 0x08
    static let uf: UInt16 = 0x10, ec: UInt16 = 0x20, dt: UInt16 = 0x40
    static let svRRCRUF: UInt16 = sv | rr | cr | uf

    /// `pci_acs_enabled(dev, acs_flags)` (drivers/pci/pci.c):
    /// 1. a quirk in `pci_dev_acs_enabled[]` that returns >= 0 decides;
    /// 2. conventional PCI or PCI-X: false;
    /// 3. PCIe-to-PCI bridges (and RC event collectors): false;
    /// 4. root ports and switch downstream ports: `pci_acs_flags_enabled`;
    /// 5. endpoints, upstream ports, RCiEPs: `pci_acs_flags_enabled` if multifunction, else true.
    func enabled(_ n: Int, _ flags: UInt16) -> Bool {
        if let q = quirk(n, flags) { return q }
        switch nodes.type[n] {
        case .conventional, .pcieToPCIBridge:
            return false
        case .rootPort, .downstreamPort:
            return flagsEnabled(n, flags)
        case .endpoint, .upstreamPort, .rcEndpoint:
            return nodes.isMultifunction[n] ? flagsEnabled(n, flags) : true
        }
    }

    /// `pci_acs_flags_enabled`: without an ACS capability false; flags the capability lacks count as
    /// hard-wired on, except EC; then every remaining flag must be set in the control register.
    func flagsEnabled(_ n: Int, _ flags: UInt16) -> Bool {
        guard nodes.hasACS[n] else { return false }
        let needed = flags & (nodes.acsCapability[n] | Self.ec)
        return control[n] & needed == needed
    }

    /// `pci_acs_path_enabled(start, NULL, flags)`: every device from `start` up to and including the
    /// root-bus device passes `pci_acs_enabled`.
    func pathEnabled(_ start: Int, _ flags: UInt16) -> Bool {
        var n = start
        while true {
            guard enabled(n, flags) else { return false }
            let u = nodes.upstream[n]
            if u < 0 { return true }
            n = u
        }
    }

    /// `pci_acs_ctrl_enabled(req, ena)`: "flags ⊆ ena".
    @inline(__always) static func ok(_ flags: UInt16, _ enabled: UInt16) -> Bool { flags & enabled == flags }

    /// `pci_dev_specific_acs_enabled`: walks `pci_dev_acs_enabled[]` (drivers/pci/quirks.c) in order; the first
    /// entry whose vendor/device match and whose function returns >= 0 decides (nil: -ENOTTY, no opinion).
    func quirk(_ n: Int, _ flags: UInt16) -> Bool? {
        let vendor = nodes.id[n].vendor
        let device = nodes.id[n].device
        let type = nodes.type[n]
        let isPCIe = type != .conventional
        switch vendor {
        case 0x1002 where ACSQuirkIDs.amdSouthbridgeATI.contains(device), 0x1022 where device == 0x780f || device == 0x7809:
            // pci_quirk_amd_sb_acs: multifunction devices on the root bus, and only with an IVRS table.
            if nodes.isMultifunction[n], nodes.upstream[n] < 0, hasIVRS {
                return Self.ok(flags & (Self.rr | Self.cr | Self.ec | Self.dt), Self.rr | Self.cr)
            }
        case 0x1924 where [0x0903, 0x0923, 0x0a03].contains(device):                      // Solarflare
            return mfEndpoint(flags)
        case 0x8086:
            if ACSQuirkIDs.intelMultifunction.contains(device) { return mfEndpoint(flags) }
            if type == .rcEndpoint { return Self.ok(flags, Self.svRRCRUF) }                // pci_quirk_rciep_acs
            if ACSQuirkIDs.isIntelPCHRootPort(nodes, n) {                                  // pci_quirk_intel_pch_acs
                return Self.ok(flags, quirkEnabled[n] ? Self.svRRCRUF : 0)
            }
            if ACSQuirkIDs.isIntelSPTRootPort(nodes, n), nodes.hasACS[n] {                 // pci_quirk_intel_spt_pch_acs
                // Dword registers: capability at +4, control at +8.
                let needed = flags & (nodes.acsCapability[n] | Self.ec)
                return Self.ok(needed, control[n])
            }
        case 0x17cb where [0x0400, 0x0401, 0x0115, 0x0111, 0x0120].contains(device),      // Qualcomm root ports
             0x1dbf where device == 0x0401:                                                // HXT SD4800
            return Self.ok(flags, Self.svRRCRUF)
        case 0x19a2 where device == 0x0710, 0x10df where device == 0x0720:                 // Emulex BE3-R, Skyhawk-R
            return mfEndpoint(flags)
        case 0x177d:                                                                       // Cavium
            if type == .rootPort, (0xa000...0xa7ff).contains(device) || device == 0xaf84 || device == 0xb884 {
                return Self.ok(flags, Self.svRRCRUF)
            }
            if [0xa026, 0xa059, 0xa060].contains(device) { return mfEndpoint(flags) }
        case 0x10e8 where device == 0xe004, 0x1def where (0xe005...0xe00c).contains(device): // X-Gene, Ampere
            return Self.ok(flags, Self.svRRCRUF)
        case 0x14e4:                                                                       // Broadcom
            if [0x16d7, 0x1750, 0x1751, 0x1752, 0x1760, 0x1761, 0x1762, 0x1763].contains(device) { return mfEndpoint(flags) }
            if device == 0xd714 { return Self.ok(flags, Self.svRRCRUF) }                   // iProc PAXB root ports
        case 0x0014 where ACSQuirkIDs.loongsonRootPorts.contains(device):                  // Loongson
            return Self.ok(flags, Self.svRRCRUF)
        case 0x1c36 where device == 0x0031:                                                // Amazon Annapurna Labs
            if type == .rootPort { return flags & ~Self.svRRCRUF == 0 }
        case 0x1d17:                                                                       // Zhaoxin
            if [0x3038, 0x3104, 0x9083].contains(device) { return mfEndpoint(flags) }
            if isPCIe, type == .rootPort || type == .downstreamPort {
                // pci_quirk_zhaoxin_pcie_ports_acs: listed ports isolate; any other Zhaoxin port returns false.
                if (0x0710...0x071e).contains(device) || device == 0x0721 || (0x0723...0x0752).contains(device) {
                    return Self.ok(flags, Self.svRRCRUF)
                }
                return false
            }
        case 0x1957 where ACSQuirkIDs.nxpRootPorts.contains(device):                       // NXP LX2xx0/LX2xx2
            return Self.ok(flags, Self.svRRCRUF)
        case 0x8088:                                                                       // Wangxun NICs
            if (0x0100...0x010f).contains(device) || [0x1001, 0x2001, 0x5010, 0x5025, 0x5040, 0x5110, 0x5125, 0x5140].contains(device) {
                return Self.ok(flags, Self.svRRCRUF)
            }
            return false
        default:
            break
        }
        // Out-of-tree pcie_acs_override patch: its { PCI_ANY_ID, PCI_ANY_ID } entry ends the table.
        if let o = acsOverride, isPCIe, !nodes.hasACS[n] {
            if o.ids.contains(nodes.id[n]) { return true }
            switch type {
            case .rootPort, .downstreamPort:
                if o.downstream { return true }
            case .endpoint, .upstreamPort, .rcEndpoint:
                if o.multifunction && nodes.isMultifunction[n] { return true }
            default:
                break
            }
        }
        return nil
    }

    /// `pci_quirk_mf_endpoint_acs`: functions verified not to do peer-to-peer with each other.
    @inline(__always) func mfEndpoint(_ flags: UInt16) -> Bool {
        Self.ok(flags, Self.sv | Self.tb | Self.rr | Self.cr | Self.uf | Self.dt)
    }
}

/// Device ID lists of the ACS quirks (drivers/pci/quirks.c).
enum ACSQuirkIDs {
    static let amdSouthbridgeATI: Set<UInt16> = [0x4385, 0x439c, 0x4383, 0x439d, 0x4384, 0x4399]

    /// Intel multifunction NICs in `pci_dev_acs_enabled[]` (82598/82599/X540/X550, 82580, 82576, 82575, I350,
    /// 82571, I219).
    static let intelMultifunction: Set<UInt16> = [
        0x10c6, 0x10db, 0x10dd, 0x10e1, 0x10f1, 0x10f7, 0x10f8, 0x10f9, 0x10fa, 0x10fb, 0x10fc, 0x1507, 0x1514,
        0x151c, 0x1529, 0x152a, 0x154d, 0x154f, 0x1551, 0x1558,
        0x1509, 0x150e, 0x150f, 0x1510, 0x1511, 0x1516, 0x1527,
        0x10c9, 0x10e6, 0x10e7, 0x10e8, 0x150a, 0x150d, 0x1518, 0x1526,
        0x10a7, 0x10a9, 0x10d6,
        0x1521, 0x1522, 0x1523, 0x1524,
        0x105e, 0x105f, 0x1060, 0x10d9,
        0x15b7, 0x15b8,
    ]

    /// `pci_quirk_intel_pch_acs_ids[]`: Intel PCH root ports without an ACS capability (Red Hat bz 1037684).
    static let intelPCHRootPorts: Set<UInt16> = {
        var s = Set<UInt16>()
        for base: UInt16 in [0x3b42] { for i in 0..<16 { s.insert(base + UInt16(i)) } }     // Ibex Peak
        for base: UInt16 in [0x1c10, 0x1e10, 0x8c10] { for i in 0..<16 { s.insert(base + UInt16(i)) } } // CPT, PPT, LPT-H
        for base: UInt16 in [0x9c10, 0x9c90] { for i in 0..<12 { s.insert(base + UInt16(i)) } } // LPT-LP, Wildcat
        for i in stride(from: 0, to: 16, by: 2) { s.insert(0x1d10 + UInt16(i)) }             // Patsburg
        for i in 0..<15 { s.insert(0x8d10 + UInt16(i)) }                                     // Wellsburg
        for i in stride(from: 0, to: 16, by: 2) { s.insert(0x8c90 + UInt16(i)) }             // 9 series
        return s
    }()

    static let loongsonRootPorts: Set<UInt16> = [0x3c09, 0x3c19, 0x3c29, 0x7a09, 0x7a19, 0x7a29, 0x7a39, 0x7a49, 0x7a59, 0x7a69]

    static let nxpRootPorts: Set<UInt16> = [
        0x8d81, 0x8da1, 0x8d83, 0x8d80, 0x8da0, 0x8d82, 0x8d90, 0x8db0, 0x8d92, 0x8d91, 0x8db1, 0x8d93,
        0x8d89, 0x8da9, 0x8d8b, 0x8d88, 0x8da8, 0x8d8a, 0x8d98, 0x8db8, 0x8d9a, 0x8d99, 0x8db9, 0x8d9b,
    ]

    /// `pci_quirk_intel_pch_acs_match`: a PCIe root port with one of the PCH IDs.
    static func isIntelPCHRootPort(_ nodes: Semantics.Nodes, _ n: Int) -> Bool {
        nodes.type[n] == .rootPort && nodes.id[n].vendor == 0x8086 && intelPCHRootPorts.contains(nodes.id[n].device)
    }

    /// `pci_quirk_intel_spt_pch_acs_match`: Sunrise Point, Union Point and 7th/8th-gen mobile root ports, whose
    /// ACS capability and control registers are dwords (control at +8; PCH errata 23/22).
    static func isIntelSPTRootPort(_ nodes: Semantics.Nodes, _ n: Int) -> Bool {
        guard nodes.type[n] == .rootPort, nodes.id[n].vendor == 0x8086 else { return false }
        switch nodes.id[n].device {
        case 0xa110...0xa11f, 0xa167...0xa16a, 0xa290...0xa29f, 0xa2e7...0xa2ee, 0x9d10...0x9d1b: return true
        default: return false
        }
    }
}

extension Semantics {
    /// `pci_acs_enabled(dev, flags)` after boot, with the quirk table of reference §4.
    public func acsEnabled(_ function: Int, flags: ACSFlags = .requiredForIsolation) -> Bool {
        isolation.enabled(function, flags.rawValue)
    }

    /// `pci_acs_path_enabled(dev, NULL, flags)`: the device and every bridge above it pass `pci_acs_enabled`.
    public func acsPathEnabled(_ function: Int, flags: ACSFlags = .requiredForIsolation) -> Bool {
        isolation.pathEnabled(function, flags.rawValue)
    }
}
