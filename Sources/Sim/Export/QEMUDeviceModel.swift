// The QEMU 7.2 device models a topology can be exported to, and what the guest sees of each.

/// A QEMU device model (`-device <model>`) and the PCI function it puts in the guest, as QEMU 7.2 (Debian 12)
/// builds it. IDs and capabilities are QEMU's, read from a booted guest's config space (docs/ORACLE.md).
public enum QEMUDeviceModel: String, Sendable, Hashable, CaseIterable {
    /// `pcie-root-port` (hw/pci-bridge/gen_pcie_root_port.c): 1b36:000c with an ACS capability at 0x148
    /// (SV TB RR CR UF DT, hw/pci/pcie.c `pcie_acs_init`) unless `disable-acs=on`.
    case rootPort = "pcie-root-port"
    /// `x3130-upstream` (TI XIO3130 upstream port, hw/pci-bridge/xio3130_upstream.c): 104c:8232, no ACS.
    case switchUpstream = "x3130-upstream"
    /// `xio3130-downstream` (hw/pci-bridge/xio3130_downstream.c): 104c:8233, no ACS capability in 7.2.
    case switchDownstream = "xio3130-downstream"
    /// `nvme` (hw/nvme/ctrl.c): 1b36:0010; `cmb_size_mb` adds a Controller Memory Buffer as BAR2, 64-bit
    /// prefetchable, which Linux's nvme driver registers and publishes as p2pmem (`nvme_map_cmb`).
    case nvme
    /// `e1000e` (Intel 82574L, hw/net/e1000e.c): 8086:10d3.
    case e1000e
    /// `virtio-net-pci` with `disable-legacy=on`: the modern-only 1af4:1041.
    case virtioNet = "virtio-net-pci"
    /// `virtio-blk-pci` with `disable-legacy=on`: the modern-only 1af4:1042, backed by a null block device.
    case virtioBlk = "virtio-blk-pci"
    /// `pcie-pci-bridge` (hw/pci-bridge/pcie_pci_bridge.c): 1b36:000e, a PCIe-to-PCI bridge with a 256-byte 64-bit
    /// BAR0 (its SHPC), no ACS capability, subsystem 0000:0000.
    case pciePCIBridge = "pcie-pci-bridge"
    /// `e1000` (Intel 82540EM, hw/net/e1000.c): 8086:100e, a conventional PCI NIC (no PCIe capability), for
    /// NICs below a PCIe-to-PCI bridge.
    case e1000

    /// The vendor:device ID the guest sees.
    public var id: PCIID {
        switch self {
        case .rootPort: PCIID(vendor: 0x1b36, device: 0x000c)
        case .switchUpstream: PCIID(vendor: 0x104c, device: 0x8232)
        case .switchDownstream: PCIID(vendor: 0x104c, device: 0x8233)
        case .nvme: PCIID(vendor: 0x1b36, device: 0x0010)
        case .e1000e: PCIID(vendor: 0x8086, device: 0x10d3)
        case .virtioNet: PCIID(vendor: 0x1af4, device: 0x1041)
        case .virtioBlk: PCIID(vendor: 0x1af4, device: 0x1042)
        case .pciePCIBridge: PCIID(vendor: 0x1b36, device: 0x000e)
        case .e1000: PCIID(vendor: 0x8086, device: 0x100e)
        }
    }

    /// The subsystem vendor:device the guest reads (nil: 0000:0000, none), as a QEMU 7.2 guest's sysfs shows them:
    /// QEMU gives its endpoints and chipset functions 1af4:1100 (`PCI_SUBVENDOR_ID_REDHAT_QUMRANET`,
    /// `PCI_SUBDEVICE_ID_QEMU`), the root port's SSVID capability says 1b36:0000, the XIO3130 ports and the
    /// PCIe-to-PCI bridge have none, and e1000e defaults to 8086:0000 (its `subsys_ven`/`subsys` properties set it).
    public var subsystemID: PCIID? {
        switch self {
        case .rootPort: PCIID(vendor: 0x1b36, device: 0x0000)
        case .switchUpstream, .switchDownstream, .pciePCIBridge: nil
        case .e1000e: PCIID(vendor: 0x8086, device: 0x0000)
        case .nvme, .virtioNet, .virtioBlk, .e1000: QEMUDeviceModel.qemuSubsystem
        }
    }

    /// 1af4:1100, QEMU's default subsystem ID (hw/pci/pci.c `pci_set_default_subsystem_id`).
    static let qemuSubsystem = PCIID(vendor: 0x1af4, device: 0x1100)

    /// Whether the function has a PCI Express capability wherever it sits: QEMU's nvme and e1000e keep theirs even
    /// below a PCIe-to-PCI bridge (in 256 bytes of config space); e1000 never has one; virtio has one only below a
    /// PCIe port.
    var isExpressOnly: Bool { self == .nvme || self == .e1000e }

    /// The class code the guest sees.
    public var classCode: UInt32 {
        switch self {
        case .rootPort, .switchUpstream, .switchDownstream, .pciePCIBridge: 0x06_04_00
        case .nvme: 0x01_08_02
        case .e1000e, .virtioNet, .e1000: 0x02_00_00
        case .virtioBlk: 0x01_00_00
        }
    }

    /// The ACS capability QEMU gives the function (nil: none). Only root ports have one, and `disable-acs=on`
    /// removes it.
    public var acsCapability: ACSFlags? {
        self == .rootPort ? QEMUDeviceModel.rootPortACS : nil
    }

    /// QEMU's `PCI_ACS_SV | PCI_ACS_TB | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF | PCI_ACS_DT` (0x005f), control 0
    /// at reset.
    public static let rootPortACS: ACSFlags = ACSFlags.all.subtracting(.egressControl)

    /// A bridge's own BARs: QEMU's root port has its MSI-X table in a 4K BAR0, the PCIe-to-PCI bridge its SHPC in a
    /// 256-byte 64-bit BAR0; the XIO3130 ports have none.
    var bridgeBARs: [BAR] {
        switch self {
        case .rootPort: [BAR(index: 0, size: 4 << 10, is64Bit: false)]
        case .pciePCIBridge: [BAR(index: 0, size: 256)]
        default: []
        }
    }

    /// The endpoint model for a topology endpoint, by ID first, then by class; nil when QEMU has none. A
    /// conventional NIC below a PCIe-to-PCI bridge is an e1000.
    static func endpoint(for device: Device, belowPCIBridge: Bool = false) -> QEMUDeviceModel? {
        for model in [QEMUDeviceModel.nvme, .e1000e, .virtioNet, .virtioBlk, .e1000] where model.id == device.id { return model }
        // QEMU's nvme with use-intel-id=on.
        if device.id == PCIID(vendor: 0x8086, device: 0x5845) { return .nvme }
        switch device.endpoint?.endpointClass {
        case .nvme: return .nvme
        case .nic: return belowPCIBridge && !device.isPCIe ? .e1000 : .e1000e
        default: return nil
        }
    }

    /// The q35 chipset functions QEMU always builds at 00:1f (hw/i386/pc_q35.c): the ICH9 LPC bridge, and
    /// unless turned off with `-machine sata=off` / `smbus=off`, the AHCI controller and the SMBus controller.
    enum ICH9: CaseIterable {
        case lpc, sata, smbus
        var function: UInt8 {
            switch self {
            case .lpc: 0
            case .sata: 2
            case .smbus: 3
            }
        }
        var id: PCIID {
            switch self {
            case .lpc: PCIID(vendor: 0x8086, device: 0x2918)
            case .sata: PCIID(vendor: 0x8086, device: 0x2922)
            case .smbus: PCIID(vendor: 0x8086, device: 0x2930)
            }
        }
        var classCode: UInt32 {
            switch self {
            case .lpc: 0x06_01_00
            case .sata: 0x01_06_01
            case .smbus: 0x0c_05_00
            }
        }
        static let device: UInt8 = 0x1f
    }

    /// q35's host bridge (MCH) at 00:00.0, hw/pci-host/q35.c.
    static let q35HostBridge = PCIID(vendor: 0x8086, device: 0x29c0)
}
