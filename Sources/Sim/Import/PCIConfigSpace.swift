// Decoding a PCI function's configuration space: header, capability lists, the PCIe capability, ACS, SR-IOV.

/// Device/Port Type field of the PCI Express Capabilities register (PCIe Base §7.5.3.2; Linux `PCI_EXP_TYPE_*`).
public enum PCIePortType: Int, Sendable, Hashable, CaseIterable {
    case endpoint = 0
    case legacyEndpoint = 1
    case rootPort = 4
    case upstreamPort = 5
    case downstreamPort = 6
    case pcieToPCIBridge = 7
    case pciToPCIeBridge = 8
    case rootComplexIntegratedEndpoint = 9
    case rootComplexEventCollector = 10

    /// Functions with a type 1 (bridge) header.
    public var isBridge: Bool {
        switch self {
        case .rootPort, .upstreamPort, .downstreamPort, .pcieToPCIBridge, .pciToPCIeBridge: true
        default: false
        }
    }

    /// How lspci spells the type after `Express (v2)`.
    public var lspciName: String {
        switch self {
        case .endpoint: "Endpoint"
        case .legacyEndpoint: "Legacy Endpoint"
        case .rootPort: "Root Port"
        case .upstreamPort: "Upstream Port"
        case .downstreamPort: "Downstream Port"
        case .pcieToPCIBridge: "PCI-Express to PCI/PCI-X Bridge"
        case .pciToPCIeBridge: "PCI/PCI-X to PCI-Express Bridge"
        case .rootComplexIntegratedEndpoint: "Root Complex Integrated Endpoint"
        case .rootComplexEventCollector: "Root Complex Event Collector"
        }
    }
}

/// A register block that may be present, absent, or beyond what could be read (as non-root, Linux returns
/// only the first 64 bytes of configuration space: drivers/pci/pci-sysfs.c, `pci_read_config`).
public enum ConfigReadout<Value: Sendable & Hashable>: Sendable, Hashable {
    case present(Value)
    case absent
    case unreadable

    public var value: Value? {
        if case .present(let v) = self { return v }
        return nil
    }
    /// Present or known to be absent.
    public var isKnown: Bool {
        if case .unreadable = self { return false }
        return true
    }
}

/// The PCI Express Capability structure (capability ID 0x10, PCIe Base §7.5.3).
public struct PCIExpressCapability: Sendable, Hashable {
    /// Offset of the capability in configuration space.
    public var offset: Int
    public var version: Int
    /// Raw Device/Port Type (bits 7:4 of PCI Express Capabilities).
    public var rawPortType: Int
    public var portType: PCIePortType? { PCIePortType(rawValue: rawPortType) }
    /// DevCap Max_Payload_Size Supported, bytes.
    public var maxPayloadSupported: Int
    /// DevCtl Max_Payload_Size, bytes.
    public var maxPayload: Int
    /// DevCtl Max_Read_Request_Size, bytes.
    public var maxReadRequest: Int
    /// DevCtl Extended Tag Field Enable (8-bit tags).
    public var extendedTagEnabled: Bool
    /// LnkCap Max Link Speed and Maximum Link Width; nil where the function has no link registers (RCiEP).
    public var maxLinkGeneration: LinkGeneration?
    public var maxLinkWidth: Int?
    /// LnkSta Current Link Speed and Negotiated Link Width.
    public var linkGeneration: LinkGeneration?
    public var linkWidth: Int?
    /// LnkCtl Read Completion Boundary (bit 3): 64 or 128 bytes.
    public var readCompletionBoundary: Int
    /// DevCap2 10-Bit Tag Requester Supported (bit 17); nil when DevCap2 is not readable.
    public var tenBitTagRequesterSupported: Bool?
    /// DevCtl2 10-Bit Tag Requester Enable (bit 12).
    public var tenBitTagRequesterEnabled: Bool?

    /// Tag bits the function's requester uses: 10 when enabled in DevCtl2, 8 with Extended Tag, else 5.
    public var tagBits: Int {
        if tenBitTagRequesterEnabled == true { return 10 }
        return extendedTagEnabled ? 8 : 5
    }
}

/// The SR-IOV Extended Capability (ID 0x0010, PCIe Base §9.3.3).
public struct SRIOVCapability: Sendable, Hashable {
    public var offset: Int
    public var initialVFs: Int
    public var totalVFs: Int
    public var numVFs: Int
    /// SR-IOV Control bit 0: the VFs exist only while it is set.
    public var vfEnable: Bool = true
    public var firstVFOffset: Int
    public var vfStride: Int
    public var vfDeviceID: UInt16
}

/// One entry of the standard capability list.
public struct StandardCapability: Sendable, Hashable {
    public var id: UInt8
    public var offset: Int
}

/// One entry of the extended capability list.
public struct ExtendedCapability: Sendable, Hashable {
    public var id: UInt16
    public var version: Int
    public var offset: Int
    /// Device Serial Number (PCIe Base 6.0 §7.9.3): a 64-bit IEEE EUI-64, lower dword at +4, upper at +8.
    public static let deviceSerialNumber: UInt16 = 0x0003
    public static let acs: UInt16 = 0x000D
    public static let ats: UInt16 = 0x000F
    public static let sriov: UInt16 = 0x0010
    public static let pasid: UInt16 = 0x001B
}

/// A function's configuration space as read from sysfs `config` (64, 256 or 4096 bytes).
///
/// Decoding follows the layouts of PCI Local Bus 3.0 §6 and PCIe Base §7; offsets are Linux's
/// `include/uapi/linux/pci_regs.h`. A register beyond the bytes read is reported as unreadable, never guessed.
public struct PCIConfigSpace: Sendable, Hashable {
    public var bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }

    public static let capabilityIDExpress: UInt8 = 0x10

    public func read8(_ offset: Int) -> UInt8? { offset >= 0 && offset < bytes.count ? bytes[offset] : nil }
    public func read16(_ offset: Int) -> UInt16? {
        guard offset >= 0, offset + 1 < bytes.count else { return nil }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }
    public func read32(_ offset: Int) -> UInt32? {
        guard let lo = read16(offset), let hi = read16(offset + 2) else { return nil }
        return UInt32(lo) | UInt32(hi) << 16
    }

    public var vendorID: UInt16? { read16(0x00) }
    public var deviceID: UInt16? { read16(0x02) }
    public var revision: UInt8? { read8(0x08) }
    /// 24-bit class code (base, sub, prog-if).
    public var classCode: UInt32? { read32(0x08).map { $0 >> 8 } }
    /// Header layout: 0 normal, 1 PCI-to-PCI bridge, 2 CardBus bridge.
    public var headerType: UInt8? { read8(0x0E).map { $0 & 0x7F } }
    public var isMultifunction: Bool? { read8(0x0E).map { $0 & 0x80 != 0 } }
    /// Type 1 header bus numbers.
    public var primaryBus: UInt8? { headerType == 1 ? read8(0x18) : nil }
    public var secondaryBus: UInt8? { headerType == 1 ? read8(0x19) : nil }
    public var subordinateBus: UInt8? { headerType == 1 ? read8(0x1A) : nil }

    /// A bridge's memory window (Memory Base/Limit at 0x20/0x22, address bits 31:20, 1 MiB granularity; PCI-to-PCI
    /// Bridge 1.2 §3.2.5.8); nil when closed (limit below base) or not a type 1 header.
    /// Registers left at zero (firmware never programmed the bridge) or Memory Space Enable clear (Command bit 1:
    /// the bridge forwards no memory) give no window: no real machine routes MMIO at bus address 0.
    public var memoryWindow: AddressRange? {
        guard headerType == 1, read16(0x04).map({ $0 & 0x2 != 0 }) == true,
              let base = read16(0x20), let limit = read16(0x22), base | limit != 0 else { return nil }
        let start = UInt64(base & 0xFFF0) << 16, end = UInt64(limit & 0xFFF0) << 16 | 0xF_FFFF
        return end > start ? AddressRange(start: start, end: end) : nil
    }

    /// A bridge's prefetchable window (0x24/0x26, with the upper 32 bits at 0x28/0x2C when the window is 64-bit).
    public var prefetchableWindow: AddressRange? {
        guard headerType == 1, read16(0x04).map({ $0 & 0x2 != 0 }) == true,
              let base = read16(0x24), let limit = read16(0x26), base | limit != 0 else { return nil }
        var start = UInt64(base & 0xFFF0) << 16, end = UInt64(limit & 0xFFF0) << 16 | 0xF_FFFF
        if base & 0xF == 1 {
            guard let upperBase = read32(0x28), let upperLimit = read32(0x2C) else { return nil }
            start |= UInt64(upperBase) << 32
            end |= UInt64(upperLimit) << 32
        }
        return end > start ? AddressRange(start: start, end: end) : nil
    }

    /// The standard capability list (ID, offset), walked from the Capabilities Pointer.
    public var capabilities: ConfigReadout<[StandardCapability]> {
        guard let status = read16(0x06), let header = headerType else { return .unreadable }
        guard status & 0x0010 != 0 else { return .absent }
        guard let first = read8(header == 2 ? 0x14 : 0x34) else { return .unreadable }
        var found: [StandardCapability] = []
        var pointer = Int(first & 0xFC)
        var seen = Set<Int>()
        while pointer != 0 {
            // 48 capabilities at most fit in the 192 bytes after the header (Linux PCI_FIND_CAP_TTL).
            guard pointer >= 0x40, seen.insert(pointer).inserted, seen.count <= 48 else { break }
            guard let id = read8(pointer), let next = read8(pointer + 1) else { return .unreadable }
            if id == 0xFF { break }
            found.append(StandardCapability(id: id, offset: pointer))
            pointer = Int(next & 0xFC)
        }
        return found.isEmpty ? .absent : .present(found)
    }

    /// The extended capability list from offset 0x100 (PCIe Base §7.6).
    public var extendedCapabilities: ConfigReadout<[ExtendedCapability]> {
        guard bytes.count > 0x100 else {
            // Only PCIe functions have extended space; a conventional function's 256 bytes are all there is.
            switch express {
            case .absent: return .absent
            default: return .unreadable
            }
        }
        var found: [ExtendedCapability] = []
        var offset = 0x100
        var seen = Set<Int>()
        while offset != 0 {
            guard offset >= 0x100, seen.insert(offset).inserted, seen.count <= 480 else { break }
            guard let header = read32(offset) else { return .unreadable }
            if header == 0 || header == 0xFFFF_FFFF { break }
            found.append(ExtendedCapability(id: UInt16(header & 0xFFFF), version: Int((header >> 16) & 0xF), offset: offset))
            offset = Int((header >> 20) & 0xFFC)
        }
        return found.isEmpty ? .absent : .present(found)
    }

    /// Whether an extended capability is there, known absent, or unreadable.
    public func extendedCapability(_ id: UInt16) -> ConfigReadout<ExtendedCapability> {
        switch extendedCapabilities {
        case .present(let list): list.first { $0.id == id }.map { .present($0) } ?? .absent
        case .absent: .absent
        case .unreadable: .unreadable
        }
    }

    /// The Device Serial Number capability's 64-bit value (upper dword at +8, lower at +4; lspci prints it most
    /// significant byte first: `Device Serial Number 00-11-22-33-44-55-66-77`).
    public var serialNumber: ConfigReadout<UInt64> {
        switch extendedCapability(ExtendedCapability.deviceSerialNumber) {
        case .unreadable: return .unreadable
        case .absent: return .absent
        case .present(let cap):
            guard let lower = read32(cap.offset + 4), let upper = read32(cap.offset + 8) else { return .unreadable }
            return .present(UInt64(upper) << 32 | UInt64(lower))
        }
    }

    /// The PCI Express capability.
    public var express: ConfigReadout<PCIExpressCapability> {
        switch capabilities {
        case .unreadable: return .unreadable
        case .absent: return .absent
        case .present(let list):
            guard let cap = list.first(where: { $0.id == PCIConfigSpace.capabilityIDExpress }) else {
                return .absent
            }
            return decodeExpress(at: cap.offset).map { .present($0) } ?? .unreadable
        }
    }

    func decodeExpress(at o: Int) -> PCIExpressCapability? {
        guard let flags = read16(o + 2), let devCap = read32(o + 4), let devCtl = read16(o + 8) else { return nil }
        let lnkCap = read32(o + 0x0C)
        let lnkCtl = read16(o + 0x10)
        let lnkSta = read16(o + 0x12)
        let version = Int(flags & 0xF)
        // DevCap2/DevCtl2 exist from capability version 2 on.
        let devCap2 = version >= 2 ? read32(o + 0x24) : nil
        let devCtl2 = version >= 2 ? read16(o + 0x28) : nil
        func generation(_ code: UInt32?) -> LinkGeneration? { code.flatMap { LinkGeneration(rawValue: Int($0 & 0xF)) } }
        func width(_ field: UInt32?) -> Int? {
            guard let w = field.map({ Int(($0 >> 4) & 0x3F) }), w > 0 else { return nil }
            return w
        }
        return PCIExpressCapability(
            offset: o, version: version, rawPortType: Int((flags >> 4) & 0xF),
            maxPayloadSupported: 128 << Int(min(devCap & 0x7, 5)),
            maxPayload: 128 << Int(min((devCtl >> 5) & 0x7, 5)),
            maxReadRequest: 128 << Int(min((devCtl >> 12) & 0x7, 5)),
            extendedTagEnabled: devCtl & 0x0100 != 0,
            maxLinkGeneration: generation(lnkCap), maxLinkWidth: width(lnkCap),
            linkGeneration: generation(lnkSta.map(UInt32.init)), linkWidth: width(lnkSta.map(UInt32.init)),
            readCompletionBoundary: (lnkCtl ?? 0) & 0x0008 != 0 ? 128 : 64,
            tenBitTagRequesterSupported: devCap2.map { $0 & (1 << 17) != 0 },
            tenBitTagRequesterEnabled: devCtl2.map { $0 & (1 << 12) != 0 })
    }

    /// The ACS Extended Capability (PCIe Base §7.7.12): capability at +4, control at +6, egress vector at +8.
    public var acs: ConfigReadout<ACSState> {
        switch extendedCapability(ExtendedCapability.acs) {
        case .absent: return .absent
        case .unreadable: return .unreadable
        case .present(let cap):
            guard let capability = read16(cap.offset + 4), let control = read16(cap.offset + 6) else { return .unreadable }
            let defined = ACSFlags.all.rawValue
            var vector: [Int] = []
            if capability & ACSFlags.egressControl.rawValue != 0 {
                // Egress Control Vector Size in bits 15:8; 0 means 256.
                let size = Int(capability >> 8) == 0 ? 256 : Int(capability >> 8)
                for bit in 0..<size {
                    guard let word = read32(cap.offset + 8 + (bit / 32) * 4) else { break }
                    if word & (1 << UInt32(bit % 32)) != 0 { vector.append(bit) }
                }
            }
            return .present(ACSState(capability: ACSFlags(rawValue: capability & defined),
                                     control: ACSFlags(rawValue: control & defined), egressVector: vector))
        }
    }

    /// The SR-IOV capability of a physical function.
    public var sriov: ConfigReadout<SRIOVCapability> {
        switch extendedCapability(ExtendedCapability.sriov) {
        case .absent: return .absent
        case .unreadable: return .unreadable
        case .present(let cap):
            let o = cap.offset
            guard let control = read16(o + 0x08), let initial = read16(o + 0x0C), let total = read16(o + 0x0E), let num = read16(o + 0x10),
                  let first = read16(o + 0x14), let stride = read16(o + 0x16), let vfDevice = read16(o + 0x1A) else {
                return .unreadable
            }
            return .present(SRIOVCapability(offset: o, initialVFs: Int(initial), totalVFs: Int(total), numVFs: Int(num),
                                            vfEnable: control & 1 != 0, firstVFOffset: Int(first), vfStride: Int(stride), vfDeviceID: vfDevice))
        }
    }
}
