// Access Control Services: capability and control bits (PCIe Base Spec §6.12, §7.7.12; Linux pci_regs.h).

/// ACS capability / control bits. Bit positions follow `PCI_ACS_*` in include/uapi/linux/pci_regs.h.
public struct ACSFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// SV, ACS Source Validation (PCI_ACS_SV 0x01).
    public static let sourceValidation = ACSFlags(rawValue: 0x01)
    /// TB, ACS Translation Blocking (PCI_ACS_TB 0x02).
    public static let translationBlocking = ACSFlags(rawValue: 0x02)
    /// RR, ACS P2P Request Redirect (PCI_ACS_RR 0x04).
    public static let requestRedirect = ACSFlags(rawValue: 0x04)
    /// CR, ACS P2P Completion Redirect (PCI_ACS_CR 0x08).
    public static let completionRedirect = ACSFlags(rawValue: 0x08)
    /// UF, ACS Upstream Forwarding (PCI_ACS_UF 0x10).
    public static let upstreamForwarding = ACSFlags(rawValue: 0x10)
    /// EC, ACS P2P Egress Control (PCI_ACS_EC 0x20).
    public static let egressControl = ACSFlags(rawValue: 0x20)
    /// DT, ACS Direct Translated P2P (PCI_ACS_DT 0x40).
    public static let directTranslatedP2P = ACSFlags(rawValue: 0x40)

    /// The seven defined bits in lspci order with their short names.
    public static let named: [(ACSFlags, String, String)] = [
        (.sourceValidation, "SV", "SrcValid"), (.translationBlocking, "TB", "TransBlk"),
        (.requestRedirect, "RR", "ReqRedir"), (.completionRedirect, "CR", "CmpltRedir"),
        (.upstreamForwarding, "UF", "UpstreamFwd"), (.egressControl, "EC", "EgressCtrl"),
        (.directTranslatedP2P, "DT", "DirectTrans"),
    ]
    public static let all: ACSFlags = [.sourceValidation, .translationBlocking, .requestRedirect,
                                       .completionRedirect, .upstreamForwarding, .egressControl, .directTranslatedP2P]
    /// The bits Linux's `pci_std_enable_acs` turns on when an IOMMU requested ACS (0x001d = SV|RR|CR|UF).
    public static let linuxRequested: ACSFlags = [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding]

    /// Parses `SV RR CR UF`, `none`, an empty string, or a hex word `0x001d`.
    public init?(_ text: some StringProtocol) {
        let t = text.trimmingSpaces
        if t.hasPrefix("0x") {
            guard let v = UInt16(t.dropFirst(2), radix: 16), v & ~ACSFlags.all.rawValue == 0 else { return nil }
            self.init(rawValue: v)
            return
        }
        var flags = ACSFlags()
        for token in t.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "|" }) where token != "none" {
            guard let f = ACSFlags.named.first(where: { $0.1 == token })?.0 else { return nil }
            flags.insert(f)
        }
        self = flags
    }

    /// `SV RR CR UF`, or `none`.
    public var tokens: String {
        let s = ACSFlags.named.filter { contains($0.0) }.map(\.1).joined(separator: " ")
        return s.isEmpty ? "none" : s
    }
    /// `SV+ TB- RR+ CR+ UF+ EC- DT-`, the compact form `simrun show` prints.
    public var plusMinus: String {
        ACSFlags.named.map { $0.1 + (contains($0.0) ? "+" : "-") }.joined(separator: " ")
    }
    /// lspci's `SrcValid+ TransBlk- ...` form.
    public var lspciForm: String {
        ACSFlags.named.map { $0.2 + (contains($0.0) ? "+" : "-") }.joined(separator: " ")
    }
}

/// Where an ACS Control value comes from, and so whether Linux's boot-time rules still apply to it.
public enum ACSControlSource: String, Hashable, Sendable, CaseIterable {
    /// The value firmware leaves before the kernel boots: `pci_enable_acs()` and the `disable_acs_redir=` /
    /// `config_acs=` parameters are applied on top of it, as at boot.
    case firmware
    /// Read on a running kernel (sysfs config space, `lspci -vvv`): the boot-time changes, and anything firmware
    /// did after them (AMD Milan clears SrcValid after the kernel set it), are already in it, so it is taken as is.
    case observed
}

/// The ACS extended capability of a port or function.
public struct ACSState: Hashable, Sendable {
    /// ACS Capability register (what the hardware implements).
    public var capability: ACSFlags
    /// ACS Control register: as firmware left it (before Linux's boot-time enable), or as observed on a
    /// running kernel; `controlSource` says which.
    public var control: ACSFlags
    /// Egress Control Vector: port (or function) numbers whose bit is set (blocked when EC is enabled).
    public var egressVector: [Int]
    /// Whether `control` is the firmware value or one observed after boot.
    public var controlSource: ACSControlSource
    /// Register layout quirk: Intel SPT-style ports keep control at +8 (dword layout); see ACS quirks.
    public init(capability: ACSFlags, control: ACSFlags, egressVector: [Int] = [], controlSource: ACSControlSource = .firmware) {
        self.capability = capability
        self.control = control
        self.egressVector = egressVector
        self.controlSource = controlSource
    }

    /// The control value is observed on a running kernel (no boot rules re-applied to it).
    public var isObserved: Bool { controlSource == .observed }
}
