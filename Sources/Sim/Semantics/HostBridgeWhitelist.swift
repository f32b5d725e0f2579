// The p2pdma host bridge whitelist (`pci_p2pdma_whitelist[]`, drivers/pci/p2pdma.c; reference §1.4).

/// What `__host_bridge_whitelist` decides for one host bridge.
enum WhitelistVerdict: Sendable, Hashable {
    /// An entry matched and allows this case.
    case allowed
    /// An entry matched but carries `REQ_SAME_HOST_BRIDGE` and the pair spans two host bridges (silent false).
    case sameHostBridgeRequired
    /// No entry matched: false, with "Host bridge not in P2PDMA whitelist" when warning.
    case notListed
    /// `pci_host_bridge_dev` found no device (the first root-bus device is neither 00.0 nor a root port):
    /// silent false.
    case noHostBridgeDevice
}

/// The host bridges whose peer-to-peer forwarding Linux trusts when the CPU itself does not qualify
/// (`cpu_supports_p2pdma`). Table order matters: the first entry whose vendor and device match decides.
public enum HostBridgeWhitelist {
    public struct Entry: Hashable, Sendable {
        public var vendor: UInt16
        /// nil: `PCI_ANY_ID`.
        public var device: UInt16?
        /// `REQ_SAME_HOST_BRIDGE`: only pairs below this one host bridge are allowed.
        public var requiresSameHostBridge: Bool
        /// The `KernelRules` row that says which kernel versions list it (nil: every version).
        public var rule: KernelRule? = nil
    }

    /// Every entry any modelled kernel version had, in table order, each with the `KernelRules` row that says
    /// which versions list it (`entries(for:version:)`). Mainline's is the table at the PCI tree snapshot
    /// `cd2698d7` (reference §1.4; the `0b25` and `0cfe` IDs are flagged there as recalled from memory); 6.1's and
    /// 6.12's were read from Debian's linux-source packages (6.1.192, 6.12.118): the Xeon E5, Sky Lake-E and
    /// `09a2` entries only.
    public static let all: [Entry] = {
        var e: [Entry] = []
        func add(_ vendor: UInt16, _ devices: [UInt16?], same: Bool = false, _ rule: KernelRule) {
            for d in devices { e.append(Entry(vendor: vendor, device: d, requiresSameHostBridge: same, rule: rule)) }
        }
        add(0x1022, [0x1450], .whitelistAMDZenHostBridge)                                 // AMD Zen (until 5.9)
        add(0x8086, [0x3c00, 0x3c01], same: true, .whitelistIntelXeonE5)                  // Xeon E5 / Core i7
        add(0x8086, [0x2f00, 0x2f01], same: true, .whitelistIntelXeonE5)                  // Xeon E5/E7 v3
        add(0x8086, [0x2030, 0x2031, 0x2032, 0x2033, 0x2020], .whitelistSkylakeE)         // Skylake-E root ports and host
        add(0x8086, [0x09a2], .whitelistIceLakeXeon)                                      // Ice Lake-SP and later Xeon
        add(0x8086, [0x0b25, 0x0cfe, 0x11fb, 0x1212, 0x1216], .whitelistIntelAccelerators) // DSA/IAX SPR0, DSA GNRD, DSA/IAA DMR
        add(0x8086, [0x4940, 0x4942, 0x4944, 0x4946, 0x4948], .whitelistIntelAccelerators) // QAT
        add(0x1ae0, [nil], .whitelistGoogle)                                              // Google SoCs
        add(0x10de, [0x2f95, 0x2f96, 0x2f97, 0x2f98], .whitelistNVIDIA)                   // NVIDIA CPUs
        add(0x1d17, [0x1003, 0x1005, 0x1006, 0x1007], same: true, .whitelistZhaoxin)      // Zhaoxin
        add(0x1d17, [0x1008], .whitelistZhaoxin)                                          // Zhaoxin KH-50000
        return e
    }()

    /// The table of newest mainline.
    public static let mainline: [Entry] = entries(for: .mainline, version: .mainline)

    /// The PCI `p2pdma` branch after the snapshot adds Intel Haswell client `8086:0c08` with
    /// `REQ_SAME_HOST_BRIDGE` (`0b9df403`). Alibaba Yitian 710 (`6a0b9a75`) is left out: its ID was not
    /// retrieved (reference §0).
    public static let p2pdmaNext: [Entry] = mainline + [Entry(vendor: 0x8086, device: 0x0c08, requiresSameHostBridge: true)]

    /// The table a kernel version has (the `p2pdma-next` branch's extra entry only on mainline).
    public static func entries(for branch: SemanticsOptions.P2PDMABranch, version: KernelVersion) -> [Entry] {
        var table = all.filter { e in e.rule.map { version.has($0) } ?? true }
        if branch == .p2pdmaNext, version == .mainline {
            table.append(Entry(vendor: 0x8086, device: 0x0c08, requiresSameHostBridge: true))
        }
        return table
    }

    /// `__host_bridge_whitelist(host, same_host_bridge)` for the host bridge device `id`.
    static func verdict(_ id: PCIID, sameHostBridge: Bool, in table: [Entry]) -> WhitelistVerdict {
        for entry in table where entry.vendor == id.vendor && (entry.device == nil || entry.device == id.device) {
            return entry.requiresSameHostBridge && !sameHostBridge ? .sameHostBridgeRequired : .allowed
        }
        return .notListed
    }
}
