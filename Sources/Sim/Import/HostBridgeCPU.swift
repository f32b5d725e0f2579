/// The CPU a host bridge's ID implies, for sources that list PCI functions but not the CPU (lspci, a tree with
/// IDs). The root complex at 00.0 of a root bus is part of the processor on x86 servers and desktops, so its
/// vendor is the CPU's; for AMD, Linux itself maps root complex IDs to CPU families
/// (`arch/x86/kernel/amd_nb.c`, `PCI_DEVICE_ID_AMD_*_ROOT`, 6.12). The p2pdma CPU rule needs only
/// "AMD, family 17h or later" (`cpu_supports_p2pdma()`, drivers/pci/p2pdma.c), so the lowest family an ID is
/// used for is enough: 0x1480 (17h models 30h) is also the root complex of Milan (19h), 0x14b5 serves 17h
/// models A0h and 19h models 40h.
public enum HostBridgeCPU {
    /// What one host bridge ID says: the vendor, the lowest CPU family it is used with (nil: not known here),
    /// and where that comes from.
    public struct Inference: Sendable, Hashable {
        public var vendor: CPUVendor
        public var minimumFamily: Int?
        public var source: String
    }

    /// AMD root complexes by device ID: (lowest family, the amd_nb.c name). amd_nb.c's MI200_ROOT (0x14bb) and
    /// MI300_ROOT (0x14f8) are left out: those roots can be a GPU's own, next to a host CPU of any vendor.
    static let amdRoots: [UInt16: (family: Int, name: String)] = [
        0x1450: (0x17, "17H_ROOT"),
        0x15d0: (0x17, "17H_M10H_ROOT"),
        0x1480: (0x17, "17H_M30H_ROOT"),
        0x1630: (0x17, "17H_M60H_ROOT"),
        0x14b5: (0x17, "17H_MA0H_ROOT / 19H_M40H_ROOT"),
        0x14a4: (0x19, "19H_M10H_ROOT"),
        0x14d8: (0x19, "19H_M60H_ROOT"),
        0x14e8: (0x19, "19H_M70H_ROOT"),
        0x153a: (0x1a, "1AH_M00H_ROOT"),
        0x1507: (0x1a, "1AH_M20H_ROOT"),
        0x1122: (0x1a, "1AH_M60H_ROOT"),
    ]

    /// Host bridges a hypervisor emulates (QEMU's Q35 MCH 8086:29c0 and i440FX 8086:1237; the 440BX 8086:7190/
    /// 7191/7192 of VMware and Hyper-V generation 1): an Intel ID whatever the host's CPU, so they say nothing about it.
    static let emulated: Set<PCIID> = [0x29c0, 0x1237, 0x7190, 0x7191, 0x7192].reduce(into: []) { $0.insert(PCIID(vendor: 0x8086, device: $1)) }

    /// The CPU a host bridge ID implies; nil when it implies none (an emulated chipset, another vendor).
    public static func infer(_ id: PCIID) -> Inference? {
        if emulated.contains(id) { return nil }
        switch id.vendor {
        case 0x8086:
            return Inference(vendor: .intel, minimumFamily: nil, source: "an Intel host bridge")
        case 0x1022:
            if let root = amdRoots[id.device] {
                return Inference(vendor: .amd, minimumFamily: root.family,
                                 source: "AMD root complex \(id) (Linux amd_nb.c PCI_DEVICE_ID_AMD_\(root.name))")
            }
            return Inference(vendor: .amd, minimumFamily: nil, source: "an AMD host bridge not in Linux's root complex table")
        default:
            return nil
        }
    }
}
