// The kernel command line as Linux parses it, byte for byte: `next_arg` (lib/cmdline.c) splits it,
// `parse_early_param` hands every argument to the early parameters (`do_early_param`, init/main.c), then
// `parse_args("Booting kernel", ...)` hands the rest to `unknown_bootoption`, which rebuilds `param=value`
// (`repair_env_string`) and gives it to the `__setup` handlers whose string is a prefix of it
// (`obsolete_checksetup`). Read from Debian's linux-source-6.1 (6.1.192) and linux-source-6.12 (6.12.118); these
// functions are the same in both.

/// Linux's command line splitter and the parameter name comparisons, as pure functions.
public enum KernelCommandLine {
    /// One argument as `next_arg` returns it.
    public struct Argument: Hashable, Sendable, CustomStringConvertible {
        /// The name as written: what precedes the first `=` (dashes kept; `parameq` takes `-` and `_` as equal).
        public var param: String
        /// What follows the first `=`, nil without one. `next_arg` removes a double quote that begins the value
        /// together with the argument's last character when that is a quote (`pci="noats"` gives `noats`), and the
        /// quotes of an argument quoted as a whole (`"pci=noats"`); a quote inside the value stays
        /// (`pci=disable_acs_redir="0000:00:01.0"` gives `disable_acs_redir="0000:00:01.0"`). Quotes only keep
        /// blanks inside one argument.
        public var value: String?

        public init(param: String, value: String?) {
            self.param = param
            self.value = value
        }

        /// What a `__setup` handler sees: `param=value` as `repair_env_string` puts it back together.
        public var setupLine: String { value.map { param + "=" + $0 } ?? param }

        public var description: String { setupLine }
    }

    /// `isspace` of the kernel's `_ctype` table (lib/ctype.c): tab to carriage return, space, and 0xa0 (Latin-1
    /// no-break space, so a UTF-8 character whose second byte is 0xa0, such as `à`, splits an argument as Linux does).
    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0d) || c == 0xa0 }

    /// The arguments of `line` in order, as `parse_args` walks them: it stops at a bare `--` (what follows is
    /// for init).
    public static func arguments(_ line: String) -> [Argument] {
        // The kernel works in place on a NUL-terminated copy; so does this.
        var b = Array(line.utf8)
        b.append(0)
        var out: [Argument] = []
        var args = 0
        while isSpace(b[args]) { args += 1 }
        while b[args] != 0 {
            // next_arg(args, &param, &val)
            var a = args
            var i = 0
            var equals = 0
            var inQuote = false
            var quoted = false
            if b[a] == UInt8(ascii: "\"") {
                a += 1
                inQuote = true
                quoted = true
            }
            while b[a + i] != 0 {
                if isSpace(b[a + i]), !inQuote { break }
                if equals == 0, b[a + i] == UInt8(ascii: "=") { equals = i }
                if b[a + i] == UInt8(ascii: "\"") { inQuote.toggle() }
                i += 1
            }
            let param = a
            var val: Int?
            if equals != 0 {
                b[a + equals] = 0
                var v = a + equals + 1
                // "Don't include quotes in value."
                if b[v] == UInt8(ascii: "\"") {
                    v += 1
                    if b[a + i - 1] == UInt8(ascii: "\"") { b[a + i - 1] = 0 }
                }
                val = v
            }
            if quoted, i > 0, b[a + i - 1] == UInt8(ascii: "\"") { b[a + i - 1] = 0 }
            if b[a + i] != 0 {
                b[a + i] = 0
                args = a + i + 1
            } else {
                args = a + i
            }
            while isSpace(b[args]) { args += 1 }
            let name = cString(b, param)
            let value = val.map { cString(b, $0) }
            // parse_args: "Stop at --".
            if value == nil, name == "--" { break }
            out.append(Argument(param: name, value: value))
        }
        return out
    }

    static func cString(_ b: [UInt8], _ start: Int) -> String {
        var end = start
        while b[end] != 0 { end += 1 }
        return String(decoding: b[start..<end], as: UTF8.self)
    }

    /// `parameq(a, b)`: equal names, `-` and `_` alike (kernel/params.c).
    public static func parameq(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).allSatisfy { dash2underscore($0) == dash2underscore($1) }
    }

    /// `parameqn(line, str, strlen(str))` as `obsolete_checksetup` uses it: `str` (`"intel_iommu="`) is a prefix of
    /// `line`, `-` and `_` alike. Returns what the handler is given (`line + n`), nil when it does not match.
    public static func setupValue(_ line: String, _ str: String) -> String? {
        let x = Array(line.utf8), y = Array(str.utf8)
        guard x.count >= y.count, zip(x, y).allSatisfy({ dash2underscore($0) == dash2underscore($1) }) else { return nil }
        return String(decoding: x[y.count...], as: UTF8.self)
    }

    @inline(__always)
    static func dash2underscore(_ c: UInt8) -> UInt8 { c == UInt8(ascii: "-") ? UInt8(ascii: "_") : c }

    /// C's `strncmp(s, prefix, strlen(prefix)) == 0` on the bytes from `at`.
    @inline(__always)
    static func hasPrefix(_ s: [UInt8], at: Int, _ prefix: String) -> Bool {
        let p = Array(prefix.utf8)
        return at + p.count <= s.count && s[at..<(at + p.count)].elementsEqual(p)
    }
}

extension KernelParameters {
    /// Parses a command line as the kernel does: first every early parameter in order (`parse_early_param`), then
    /// every `__setup` handler in order (`parse_args("Booting kernel")` → `unknown_bootoption` →
    /// `obsolete_checksetup`), so the log has the early parameters' lines first. `acsOverridePatch` models a
    /// kernel carrying the out-of-tree ACS override patch (its `pcie_acs_override` is an early parameter); without
    /// it `pcie_acs_override=` is ignored, as mainline does.
    ///
    /// Not modelled: `Unknown kernel command line parameters "...", will be passed to user space.` (it needs every
    /// `__setup` of the kernel) and the 2048-byte `COMMAND_LINE_SIZE` truncation.
    public static func parse(_ kernel: KernelConfiguration, acsOverridePatch: Bool = false) -> KernelParameters {
        var p = KernelParameters(version: kernel.version)
        let arguments = KernelCommandLine.arguments(kernel.commandLine)
        // do_early_param: every early `__setup` whose name equals the parameter's; a non-zero return is logged.
        for a in arguments {
            let name = a.param
            var failed = false
            if KernelCommandLine.parameq(name, "pci") {
                p.pciSetup(a.value)
            } else if KernelCommandLine.parameq(name, "iommu") {
                failed = p.iommuSetup(a.value) != 0
            } else if KernelCommandLine.parameq(name, "iommu.passthrough") {
                // iommu_set_def_domain_type: kstrtobool, then identity or translated.
                if let b = a.value.flatMap(kstrtobool) { p.passthrough = b } else { failed = true }
            } else if KernelCommandLine.parameq(name, "iommu.strict") {
                // iommu_dma_setup
                if let b = a.value.flatMap(kstrtobool) { p.strict = b } else { failed = true }
            } else if acsOverridePatch, KernelCommandLine.parameq(name, "pcie_acs_override") {
                // The patch's pcie_acs_override_setup returns -EINVAL without a value.
                if let v = a.value { p.parseACSOverride(v) } else { failed = true }
            }
            if failed { p.log.append(KernelLogEntry(.warning, "Malformed early option '\(name)'")) }
        }
        // obsolete_checksetup: the first non-early `__setup` whose string prefixes `param=value` and returns non-zero.
        for a in arguments {
            let line = a.setupLine
            if let v = KernelCommandLine.setupValue(line, "intel_iommu=") {
                p.intelIOMMUSetup(v)
            } else if let v = KernelCommandLine.setupValue(line, "amd_iommu=") {
                p.amdIOMMUSetup(v)
            }
        }
        return p
    }

    // MARK: - pci= (early)

    /// `pci_setup` (drivers/pci/pci.c): the value is cut at each `,` (so a `disable_acs_redir=` list must use `;`
    /// between devices), empty pieces are skipped, x86's `pcibios_setup` (arch/x86/pci/common.c) takes its own
    /// options first, then the options are compared in the kernel's order, several by prefix only
    /// (`strncmp(str, "noats", 5)`: `noats=1` disables ATS too). The rest is `PCI: Unknown option `...'`.
    mutating func pciSetup(_ value: String?) {
        guard let value else { return }
        for option in value.split(separator: ",", omittingEmptySubsequences: true).map(String.init) {
            if KernelParameters.x86PCIBIOSOption(option) { continue }
            let o = Array(option.utf8)
            func prefix(_ text: String) -> Bool { KernelCommandLine.hasPrefix(o, at: 0, text) }
            if option == "nomsi" || option == "noaer" || option == "earlydump" || option == "nodomains" { continue }
            if prefix("noats") {
                log.append(KernelLogEntry(.info, "PCIe: ATS is disabled"))
                atsDisabled = true
            } else if prefix("realloc") || prefix("noari") || prefix("cbiosize=") || prefix("cbmemsize=")
                        || prefix("resource_alignment=") || prefix("ecrc=") || prefix("hpiosize=")
                        || prefix("hpmmiosize=") || prefix("hpmmioprefsize=") || prefix("hpmemsize=")
                        || prefix("hpbussize=") || prefix("pcie_bus_tune_off") || prefix("pcie_bus_safe")
                        || prefix("pcie_bus_perf") || prefix("pcie_bus_peer2peer") || prefix("pcie_scan_all") {
                continue
            } else if prefix("disable_acs_redir=") {
                disableACSRedirect = String(option.dropFirst("disable_acs_redir=".count))
            } else if prefix("config_acs="), version.has(.configACS) {
                configACS = String(option.dropFirst("config_acs=".count))
            } else if option == "notph", version > .linux612 {
                // `pci=notph` came with TLP Processing Hints support (upstream v6.13); 6.12.118's pci_setup lacks it.
                continue
            } else {
                log.append(KernelLogEntry(.error, "PCI: Unknown option `\(option)'"))
            }
        }
    }

    /// x86-64's `pcibios_setup` (arch/x86/pci/common.c, the same in 6.1 and 6.12): exact names but for `irqmask=`
    /// and `lastbus=`; `bios`, `nobios`, `biosirq`, `pirqaddr=` need CONFIG_PCI_BIOS, which is 32-bit only.
    static func x86PCIBIOSOption(_ option: String) -> Bool {
        let exact: Set<String> = [
            "off", "bfsort", "nobfsort", "conf1", "conf2", "nommconf", "check_enable_amd_mmconf", "noacpi", "noearly",
            "usepirqmask", "rom", "norom", "nobar", "assign-busses", "use_crs", "nocrs", "use_e820", "no_e820",
            "big_root_window", "routeirq", "skip_isa_align", "noioapicquirk", "ioapicreroute", "noioapicreroute",
        ]
        return exact.contains(option) || option.hasPrefix("irqmask=") || option.hasPrefix("lastbus=")
    }

    // MARK: - iommu= (early, x86)

    /// x86 `iommu_setup` (arch/x86/kernel/pci-dma.c), its return value: each comma-separated piece is compared by
    /// prefix (`offline` is `off`); `usedac` returns 1 at once, so nothing after it is read (`iommu=usedac,off`
    /// leaves the IOMMU on) and `do_early_param` logs the option as malformed; no value is -EINVAL.
    mutating func iommuSetup(_ value: String?) -> Int {
        guard let value else { return -22 }
        let s = Array(value.utf8)
        var p = 0
        while p < s.count {
            func at(_ text: String) -> Bool { KernelCommandLine.hasPrefix(s, at: p, text) }
            if at("off") { iommuOff = true }
            if at("forcesac") { log.append(KernelLogEntry(.warning, "forcesac option ignored.")) }
            if at("allowdac") { log.append(KernelLogEntry(.warning, "allowdac option ignored.")) }
            if at("nodac") { log.append(KernelLogEntry(.warning, "nodac option ignored.")) }
            if at("usedac") { return 1 }
            if at("pt") { passthrough = true }
            if at("nopt") { passthrough = false }
            while p < s.count, s[p] != UInt8(ascii: ",") { p += 1 }
            if p < s.count { p += 1 }
        }
        return 0
    }

    // MARK: - intel_iommu= and amd_iommu= (__setup)

    /// `intel_iommu_setup` (drivers/iommu/intel/iommu.c, pr_fmt `DMAR: `): each piece compared by prefix; an unknown
    /// one is logged with everything after it (`Unknown option - 'foo,on'`), and the walk goes on.
    mutating func intelIOMMUSetup(_ value: String) {
        let s = Array(value.utf8)
        var p = 0
        while p < s.count {
            func at(_ text: String) -> Bool { KernelCommandLine.hasPrefix(s, at: p, text) }
            if at("on") {
                intelIOMMU = true
                log.append(KernelLogEntry(.info, "DMAR: IOMMU enabled"))
            } else if at("off") {
                intelIOMMU = false
                log.append(KernelLogEntry(.info, "DMAR: IOMMU disabled"))
            } else if at("igfx_off") {
                log.append(KernelLogEntry(.info, "DMAR: Disable GFX device mapping"))
            } else if at("intgpu_off") {
                log.append(KernelLogEntry(.info, "DMAR: Disable integrated GPU device mapping"))
            } else if at("forcedac") {
                log.append(KernelLogEntry(.warning, "DMAR: intel_iommu=forcedac deprecated; use iommu.forcedac instead"))
            } else if at("strict") {
                // iommu_set_dma_strict(): after the early iommu.strict, so it wins.
                log.append(KernelLogEntry(.warning, "DMAR: intel_iommu=strict deprecated; use iommu.strict=1 instead"))
                strict = true
            } else if at("sp_off") {
                log.append(KernelLogEntry(.info, "DMAR: Disable supported super page"))
            } else if at("sm_on") {
                log.append(KernelLogEntry(.info, "DMAR: Enable scalable mode if hardware supports"))
            } else if at("sm_off") {
                log.append(KernelLogEntry(.info, "DMAR: Scalable mode is disallowed"))
            } else if at("tboot_noforce") {
                log.append(KernelLogEntry(.info, "DMAR: Intel-IOMMU: not forcing on after tboot. This could expose security risk for tboot"))
            } else {
                log.append(KernelLogEntry(.info, "DMAR: Unknown option - '\(String(decoding: s[p...], as: UTF8.self))'"))
            }
            while p < s.count, s[p] != UInt8(ascii: ",") { p += 1 }
            while p < s.count, s[p] == UInt8(ascii: ",") { p += 1 }
        }
    }

    /// `parse_amd_iommu_options` (drivers/iommu/amd/init.c, pr_fmt `AMD-Vi: `), as `intel_iommu_setup` walks.
    /// Debian's 6.12.118 has `nohugepages` and `v2_pgsizes_only`, 6.1.192 has not (there they are unknown options);
    /// the release between that added them was not pinned, so they count from 6.12.
    mutating func amdIOMMUSetup(_ value: String) {
        let s = Array(value.utf8)
        var p = 0
        let pageSizeOptions = version >= .linux612
        while p < s.count {
            func at(_ text: String) -> Bool { KernelCommandLine.hasPrefix(s, at: p, text) }
            if at("fullflush") {
                log.append(KernelLogEntry(.warning, "AMD-Vi: amd_iommu=fullflush deprecated; use iommu.strict=1 instead"))
                strict = true
            } else if at("force_enable") {
            } else if at("off") {
                amdIOMMUDisabled = true
            } else if at("force_isolation") || at("pgtbl_v1") || at("pgtbl_v2") || at("irtcachedis") {
            } else if pageSizeOptions, at("nohugepages") {
                log.append(KernelLogEntry(.info, "AMD-Vi: Restricting V1 page-sizes to 4KiB"))
            } else if pageSizeOptions, at("v2_pgsizes_only") {
                log.append(KernelLogEntry(.info, "AMD-Vi: Restricting V1 page-sizes to 4KiB/2MiB/1GiB"))
            } else {
                log.append(KernelLogEntry(.info, "AMD-Vi: Unknown option - '\(String(decoding: s[p...], as: UTF8.self))'"))
            }
            while p < s.count, s[p] != UInt8(ascii: ",") { p += 1 }
            while p < s.count, s[p] == UInt8(ascii: ",") { p += 1 }
        }
    }
}
