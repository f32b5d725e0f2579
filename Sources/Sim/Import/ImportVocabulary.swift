// Shared vocabulary of the importers: link speed strings, class codes, hexadecimal fields.

extension LinkGeneration {
    /// The generation whose per-lane rate is `gigatransfers` GT/s (2.5, 5, 8, 16, 32, 64).
    public init?(gigatransfersPerSecond gigatransfers: Double) {
        guard let g = LinkGeneration.allCases.first(where: { abs($0.gigatransfersPerSecond - gigatransfers) < 0.01 }) else {
            return nil
        }
        self = g
    }

    /// Parses a speed as sysfs (`16.0 GT/s PCIe`, older `8 GT/s`), lspci (`16GT/s`) and NCCL print it;
    /// nil for `Unknown` and anything else.
    public init?(speedText text: some StringProtocol) {
        var t = Substring(text.trimmingSpaces)
        if t.hasSuffix("PCIe") { t = t.dropLast(4).trimmingSpaces }
        guard t.hasSuffix("GT/s") else { return nil }
        guard let v = Double(t.dropLast(4).trimmingSpaces) else { return nil }
        self.init(gigatransfersPerSecond: v)
    }

    /// The speed as sysfs `max_link_speed` prints it (`16.0 GT/s PCIe`), which NCCL copies into `link_speed`.
    public var sysfsSpeedText: String {
        switch self {
        case .gen1: "2.5 GT/s PCIe"
        case .gen2: "5.0 GT/s PCIe"
        case .gen3: "8.0 GT/s PCIe"
        case .gen4: "16.0 GT/s PCIe"
        case .gen5: "32.0 GT/s PCIe"
        case .gen6: "64.0 GT/s PCIe"
        }
    }
}

/// Class codes, names and hexadecimal fields the importers share.
public enum PCIClass {
    /// The endpoint class a class code suggests (PCI Code and ID Assignment Specification).
    public static func endpointClass(_ classCode: UInt32?) -> EndpointClass {
        guard let c = classCode else { return .generic }
        switch c >> 16 {
        case 0x03: return .gpu
        case 0x02: return .nic
        case 0x12: return .accelerator
        case 0x01 where c >> 8 == 0x0108 && c & 0xFF == 0x02: return .nvme
        case 0x06 where c >> 8 == 0x0600: return .hostBridge
        default: return .generic
        }
    }

    /// A short lower-case word for names (`gpu`, `nvme`, `sata`, `usb`), from the class code.
    public static func namePrefix(_ classCode: UInt32?) -> String {
        guard let c = classCode else { return "dev" }
        switch c >> 8 {
        case 0x0108: return c & 0xFF == 0x02 ? "nvme" : "nvm"
        case 0x0106: return "sata"
        case 0x0104: return "raid"
        case 0x0107: return "sas"
        case 0x0600: return "hostbridge"
        case 0x0601: return "isa"
        case 0x0403: return "audio"
        case 0x0806: return "iommu"
        case 0x0C03: return "usb"
        case 0x0C05: return "smbus"
        default: break
        }
        switch c >> 16 {
        case 0x01: return "storage"
        case 0x02: return "nic"
        case 0x03: return "gpu"
        case 0x04: return "media"
        case 0x05: return "memory"
        case 0x06: return "bridge"
        case 0x07: return "comm"
        case 0x08: return "system"
        case 0x0C: return "serial"
        case 0x11: return "signal"
        case 0x12: return "accel"
        default: return "dev"
        }
    }

    /// Class names as lspci prints them without `-n` (pciutils' pci.ids class list), to 16-bit class.
    public static let lspciNames: [String: UInt16] = [
        "Non-VGA unclassified device": 0x0000, "VGA compatible unclassified device": 0x0001,
        "SCSI storage controller": 0x0100, "IDE interface": 0x0101, "RAID bus controller": 0x0104,
        "SATA controller": 0x0106, "Serial Attached SCSI controller": 0x0107, "Non-Volatile memory controller": 0x0108,
        "Mass storage controller": 0x0180, "Ethernet controller": 0x0200, "Network controller": 0x0280,
        "Infiniband controller": 0x0207, "Fabric controller": 0x0208,
        "VGA compatible controller": 0x0300, "XGA compatible controller": 0x0301, "3D controller": 0x0302,
        "Display controller": 0x0380, "Multimedia video controller": 0x0400, "Multimedia audio controller": 0x0401,
        "Audio device": 0x0403, "Multimedia controller": 0x0480, "RAM memory": 0x0500, "FLASH memory": 0x0501,
        "Memory controller": 0x0580, "Host bridge": 0x0600, "ISA bridge": 0x0601, "PCI bridge": 0x0604,
        "CardBus bridge": 0x0607, "Semi-transparent PCI-to-PCI bridge": 0x0609, "Bridge": 0x0680,
        "Serial controller": 0x0700, "Communication controller": 0x0780, "PIC": 0x0800, "IOMMU": 0x0806,
        "System peripheral": 0x0880, "USB controller": 0x0C03, "SMBus": 0x0C05, "Serial bus controller": 0x0C80,
        "Encryption controller": 0x1080, "Signal processing controller": 0x1180,
        "Performance counters": 0x1101, "Processing accelerators": 0x1200, "Co-processor": 0x0B40,
        "Unassigned class": 0xFF00, "Unclassified device": 0xFF00,
    ]

    /// A class name as some lspci printed it. pci.ids changed the case of several names over the years (pciutils of
    /// 2012 prints "USB Controller" where today's prints "USB controller"), so the match ignores case.
    public static func code(lspciName name: some StringProtocol) -> UInt16? {
        if let c = lspciNames[String(name)] { return c }
        return lowercasedNames[name.lowercased()]
    }

    static let lowercasedNames: [String: UInt16] = Dictionary(lspciNames.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })

    /// Parses `0x8086`, `8086` (hexadecimal either way).
    public static func hexValue(_ text: some StringProtocol) -> UInt64? {
        var t = Substring(text.trimmingSpaces)
        if t.hasPrefix("0x") || t.hasPrefix("0X") { t = t.dropFirst(2) }
        guard !t.isEmpty, t.count <= 16 else { return nil }
        return UInt64(t, radix: 16)
    }
}
