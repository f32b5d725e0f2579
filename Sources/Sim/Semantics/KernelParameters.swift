// The kernel command line options that change ACS, IOMMU groups and p2pdma, parsed as Linux parses them.

/// The boot options the semantics layer honours, parsed from a `KernelConfiguration` the way the kernel does:
/// `parse_args`/`next_arg` (kernel/params.c) split the line, `pci_setup` (drivers/pci/pci.c) splits `pci=` on
/// commas, `intel_iommu_setup`, `parse_amd_iommu_options`, `iommu_setup` (arch/x86/kernel/pci-dma.c) and the
/// `iommu.*` core parameters read theirs. Reference §3.
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

    /// Parses a command line. `acsOverridePatch` models a kernel carrying the out-of-tree ACS override patch;
    /// without it `pcie_acs_override=` is ignored, as mainline does.
    public static func parse(_ kernel: KernelConfiguration, acsOverridePatch: Bool = false) -> KernelParameters {
        var p = KernelParameters(version: kernel.version)
        for (name, value) in commandLineArguments(kernel.commandLine) {
            switch name {
            case "pci":
                if let value { p.parsePCI(value) }
            case "intel_iommu":
                if let value { p.parseIntelIOMMU(value) }
            case "amd_iommu":
                // parse_amd_iommu_options: looks for "off" at every position of the value.
                if let value, value.contains("off") {
                    p.amdIOMMUDisabled = true
                }
            case "iommu":
                if let value { p.parseX86IOMMU(value) }
            case "iommu.passthrough":
                if let b = value.flatMap(kstrtobool) { p.passthrough = b }
            case "iommu.strict":
                if let b = value.flatMap(kstrtobool) { p.strict = b }
            case "pcie_acs_override":
                if acsOverridePatch, let value { p.parseACSOverride(value) }
            default:
                break
            }
        }
        return p
    }

    // MARK: - pci=

    /// `pci_setup`: options are comma-separated, so a `disable_acs_redir=` list must use `;` between devices.
    mutating func parsePCI(_ value: String) {
        for option in value.split(separator: ",", omittingEmptySubsequences: true).map(String.init) {
            if option.hasPrefix("disable_acs_redir=") {
                disableACSRedirect = String(option.dropFirst("disable_acs_redir=".count))
            } else if option.hasPrefix("config_acs="), version.has(.configACS) {
                configACS = String(option.dropFirst("config_acs=".count))
            } else if option == "noats" {
                log.append(KernelLogEntry(.info, "PCIe: ATS is disabled"))
                atsDisabled = true
            } else if !KernelParameters.knownPCIOption(option) {
                log.append(KernelLogEntry(.error, "PCI: Unknown option `\(option)'"))
            }
        }
    }

    /// Options `pci_setup` or x86 `pcibios_setup` accept that this layer does not model.
    static func knownPCIOption(_ option: String) -> Bool {
        let exact: Set<String> = [
            "nomsi", "noaer", "earlydump", "realloc", "nodomains", "noari", "notph", "pcie_bus_tune_off",
            "pcie_bus_safe", "pcie_bus_perf", "pcie_bus_peer2peer", "pcie_scan_all", "off", "bios", "nobios",
            "conf1", "conf2", "nommconf", "check_enable_amd_mmconf", "noearly", "usepirqmask", "noacpi", "rom",
            "norom", "nobar", "assign-busses", "routeirq", "use_crs", "nocrs", "bfsort", "nobfsort",
            "skip_isa_align", "noioapicquirk", "ioapicreroute", "noioapicreroute", "big_root_window",
        ]
        if exact.contains(option) { return true }
        let prefixes = ["realloc=", "cbiosize=", "cbmemsize=", "resource_alignment=", "ecrc=", "hpiosize=",
                        "hpmmiosize=", "hpmmioprefsize=", "hpmemsize=", "hpbussize=", "irqmask=", "lastbus=",
                        "force_floating="]
        return prefixes.contains { option.hasPrefix($0) }
    }

    // MARK: - IOMMU options

    /// `intel_iommu_setup` (drivers/iommu/intel/iommu.c); pr_fmt is "DMAR: ".
    mutating func parseIntelIOMMU(_ value: String) {
        for option in value.split(separator: ",") {
            if option.hasPrefix("on") {
                intelIOMMU = true
                log.append(KernelLogEntry(.info, "DMAR: IOMMU enabled"))
            } else if option.hasPrefix("off") {
                intelIOMMU = false
                log.append(KernelLogEntry(.info, "DMAR: IOMMU disabled"))
            }
        }
    }

    /// x86 `iommu_setup` (arch/x86/kernel/pci-dma.c): `off`, `pt`, `nopt` among others, comma-separated.
    mutating func parseX86IOMMU(_ value: String) {
        for option in value.split(separator: ",") {
            if option.hasPrefix("off") { iommuOff = true }
            if option.hasPrefix("pt") { passthrough = true }
            if option.hasPrefix("nopt") { passthrough = false }
        }
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

    // MARK: - Command line splitting

    /// `parse_args`/`next_arg`: whitespace-separated `name[=value]`, double quotes group (and are removed),
    /// `--` ends the kernel's part. Names compare with `-` and `_` equal (`parameq`), so they are normalised
    /// to `_`.
    static func commandLineArguments(_ line: String) -> [(name: String, value: String?)] {
        var out: [(String, String?)] = []
        let s = Array(line.utf8)
        var i = 0
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d }
        while i < s.count {
            while i < s.count, isSpace(s[i]) { i += 1 }
            guard i < s.count else { break }
            var token: [UInt8] = []
            var inQuote = false
            while i < s.count, inQuote || !isSpace(s[i]) {
                if s[i] == UInt8(ascii: "\"") { inQuote.toggle() } else { token.append(s[i]) }
                i += 1
            }
            let text = String(decoding: token, as: UTF8.self)
            if text == "--" { break }
            if let eq = text.firstIndex(of: "=") {
                let name = String(text[..<eq]).replacingDashes()
                out.append((name, String(text[text.index(after: eq)...])))
            } else {
                out.append((text.replacingDashes(), nil))
            }
        }
        return out
    }
}

extension String {
    /// `parameq`: `-` and `_` are the same in parameter names.
    func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }
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
