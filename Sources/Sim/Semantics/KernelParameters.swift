// The kernel command line options that change ACS, IOMMU groups and p2pdma, parsed as Linux parses them.

/// The boot options the semantics layer honours, parsed from a `KernelConfiguration` the way the kernel does
/// (`parse(_:acsOverridePatch:)`, KernelCommandLine.swift): `next_arg` (lib/cmdline.c) splits the line, the early
/// parameters `pci` (`pci_setup`, drivers/pci/pci.c), `iommu` (`iommu_setup`, arch/x86/kernel/pci-dma.c),
/// `iommu.passthrough` and `iommu.strict` (drivers/iommu/iommu.c) read theirs first, then the `__setup` handlers
/// `intel_iommu=` (`intel_iommu_setup`) and `amd_iommu=` (`parse_amd_iommu_options`). Reference §3.
///
/// Device lists (`disable_acs_redir=`, `config_acs=`) are kept as the raw strings: the kernel re-parses them
/// for every device in `__pci_config_acs`, and its error messages depend on which device reads them, so the
/// per-device parse lives in the ACS enable step (`Semantics`).
public struct KernelParameters: Hashable, Sendable {
    /// The value of `pci=disable_acs_redir=` (the last one given), `<dev>[;<dev>...]`.
    public var disableACSRedirect: String?
    /// The value of `pci=config_acs=` (mainline only; 6.1 reports it as an unknown option),
    /// `<flags>@<dev>[;<flags>@<dev>...]`.
    public var configACS: String?
    /// `pci=noats`: ATS disabled, so `pci_std_enable_acs` also sets TB (mainline).
    public var atsDisabled: Bool
    /// `intel_iommu=on|off`; nil when not given.
    public var intelIOMMU: Bool?
    /// `amd_iommu=off`.
    public var amdIOMMUDisabled: Bool
    /// x86 `iommu=off` (`no_iommu`): neither VT-d nor AMD-Vi initialises.
    public var iommuOff: Bool
    /// `iommu=pt` (true), `iommu=nopt` (false), or `iommu.passthrough=` (the last wins); nil when not given.
    public var passthrough: Bool?
    /// `iommu.strict=`; nil when not given.
    public var strict: Bool?
    /// The out-of-tree `pcie_acs_override=` options; nil when not given or when the patch is not modelled.
    public var acsOverride: ACSOverride?
    /// Which kernel parsed the line.
    public var version: KernelVersion
    /// Lines the parsers print at boot, in order.
    public var log: [KernelLogEntry]

    public init(version: KernelVersion = .mainline) {
        self.version = version
        atsDisabled = false
        amdIOMMUDisabled = false
        iommuOff = false
        log = []
    }

    /// The out-of-tree `pcie_acs_override=downstream,multifunction,id:vvvv:dddd` patch: devices without an
    /// ACS capability that it names count as isolated in `pci_acs_enabled`.
    public struct ACSOverride: Hashable, Sendable {
        /// `downstream`: every root port and switch downstream port without ACS.
        public var downstream = false
        /// `multifunction`: every multifunction endpoint or upstream port without ACS.
        public var multifunction = false
        /// `id:vvvv:dddd` entries (at most 15, as the patch's `NUM_ACS_IDS - 1`).
        public var ids: [PCIID] = []
        public init(downstream: Bool = false, multifunction: Bool = false, ids: [PCIID] = []) {
            self.downstream = downstream
            self.multifunction = multifunction
            self.ids = ids
        }
        public var isActive: Bool { downstream || multifunction || !ids.isEmpty }
    }

    // MARK: - pcie_acs_override= (out of tree)

    /// `pcie_acs_override_setup` from the out-of-tree patch, with its warnings.
    mutating func parseACSOverride(_ value: String) {
        var o = ACSOverride()
        let s = Array(value.utf8)
        var p = 0
        func hasPrefix(_ text: String, at i: Int) -> Bool {
            let t = Array(text.utf8)
            return i + t.count <= s.count && Array(s[i..<(i + t.count)]) == t
        }
        func skipTo(_ c: UInt8, from i: Int) -> Int {
            var j = i
            while j < s.count, s[j] != c { j += 1 }
            return j
        }
        /// `snprintf(opt, 5, "%s", p); kstrtol(opt, 16, &val)`: at most four characters.
        func parseHex4(at i: Int) -> Int? {
            let end = min(i + 4, s.count)
            return kstrtoul(String(decoding: s[i..<end], as: UTF8.self), base: 16).map(Int.init)
        }
        while p < s.count {
            if hasPrefix("downstream", at: p) { o.downstream = true }
            if hasPrefix("multifunction", at: p) { o.multifunction = true }
            if hasPrefix("id:", at: p) {
                if o.ids.count >= 15 {
                    log.append(KernelLogEntry(.warning, "Out of PCIe ACS override slots (16)"))
                } else {
                    p += 3
                    if let vendor = parseHex4(at: p) {
                        p = skipTo(UInt8(ascii: ":"), from: p)
                        if p >= s.count {
                            log.append(KernelLogEntry(.warning, "PCIe ACS invalid ID"))
                        } else {
                            p += 1
                            if let device = parseHex4(at: p) {
                                o.ids.append(PCIID(vendor: UInt16(truncatingIfNeeded: vendor), device: UInt16(truncatingIfNeeded: device)))
                            } else {
                                log.append(KernelLogEntry(.warning, "PCIe ACS ID parse error -22"))
                            }
                        }
                    } else {
                        log.append(KernelLogEntry(.warning, "PCIe ACS ID parse error -22"))
                    }
                }
            }
            p = skipTo(UInt8(ascii: ","), from: p)
            if p < s.count { p += 1 }
        }
        if o.isActive {
            log.append(KernelLogEntry(.warning, "Warning: PCIe ACS overrides enabled; This may allow non-IOMMU protected peer-to-peer DMA"))
        }
        acsOverride = o
    }
}

/// `kstrtobool`: `1 y Y t T on` are true, `0 n N f F off` false (the first character decides, except o).
func kstrtobool(_ s: String) -> Bool? {
    guard let c = s.first else { return nil }
    switch c {
    case "1", "y", "Y", "t", "T": return true
    case "0", "n", "N", "f", "F": return false
    case "o", "O":
        let rest = s.dropFirst().first
        if rest == "n" || rest == "N" { return true }
        if rest == "f" || rest == "F" { return false }
        return nil
    default: return nil
    }
}

/// `kstrtoul`: the whole string must be a number (one trailing newline allowed); base 16 accepts `0x`.
func kstrtoul(_ s: String, base: Int) -> UInt64? {
    var t = Substring(s)
    if t.hasSuffix("\n") { t = t.dropLast() }
    if base == 16, t.hasPrefix("0x") || t.hasPrefix("0X") { t = t.dropFirst(2) }
    guard !t.isEmpty else { return nil }
    return UInt64(t, radix: base)
}
