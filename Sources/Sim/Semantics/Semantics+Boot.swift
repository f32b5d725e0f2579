// Booting the topology: IOMMU drivers, pci_enable_acs() with its command-line parameters and quirks.

extension Semantics {
    /// The boot sequence, computed once: parameters, ACS enable per device in scan order, IOMMU groups.
    struct Boot {
        let loaded: LoadedTopology
        let options: SemanticsOptions
        let kernel: KernelConfiguration
        var parameters: KernelParameters
        var nodes: Nodes
        var acsRequested = false
        var iommuActive: [Bool] = []
        /// Per IOMMU unit (as `topology.iommus`): the mode it booted in.
        var iommuModes: [IOMMUMode] = []
        var control: [UInt16]
        var controlWord: [UInt16]
        var acsQuirkEnabled: [Bool]
        /// The node's ACS control was observed on a running kernel (`acs-ctrl-source="observed"`): taken as is.
        var controlObserved: [Bool]
        var group: [Int]
        var log: [KernelLogEntry] = []
        /// `pr_*_once` call sites already printed.
        var printedOnce: Set<String> = []

        init(loaded: LoadedTopology, options: SemanticsOptions, kernel: KernelConfiguration) {
            self.loaded = loaded
            self.options = options
            self.kernel = kernel
            parameters = KernelParameters.parse(kernel, acsOverridePatch: options.acsOverridePatch)
            nodes = Nodes(loaded)
            control = nodes.firmwareControl
            controlWord = nodes.firmwareControl
            for n in 0..<nodes.count where ACSQuirkIDs.isIntelSPTRootPort(nodes, n) {
                controlWord[n] = 0
            }
            acsQuirkEnabled = [Bool](repeating: false, count: nodes.count)
            controlObserved = Self.observedControl(loaded, count: nodes.count)
            group = [Int](repeating: -1, count: nodes.count)
        }

        /// Per node, whether its ACS control is an observed value. Host bridge nodes (past the enumerated
        /// functions) have no ACS.
        static func observedControl(_ loaded: LoadedTopology, count: Int) -> [Bool] {
            let functions = loaded.enumeration.functions
            return (0..<count).map { n in
                guard n < functions.count, let d = functions[n].device else { return false }
                return loaded.topology.devices[d].acs?.isObserved == true
            }
        }

        mutating func run() {
            log.append(contentsOf: parameters.log)
            decideIOMMUs()
            for n in nodes.probeOrder { enableACS(n) }
            formGroups()
        }

        // MARK: - IOMMU drivers

        /// Which IOMMU drivers initialise, and so call `pci_request_acs()`, and in which mode each unit boots
        /// (`KernelParameters.bootMode(of:)`: the file's `<iommu>` is the hardware, the command line decides).
        mutating func decideIOMMUs() {
            iommuModes = loaded.topology.iommus.map { parameters.bootMode(of: $0) }
            var activeUnits = Set<String>()
            for (unit, mode) in zip(loaded.topology.iommus, iommuModes) where mode != .off { activeUnits.insert(unit.name) }
            acsRequested = !activeUnits.isEmpty
            iommuActive = loaded.topology.rootComplexes.map { rc in rc.iommu.map { activeUnits.contains($0) } ?? false }
        }

        var hasIVRS: Bool { loaded.topology.iommus.contains { $0.kind == .amdVi } }

        mutating func emit(_ level: KernelLogEntry.Level, _ node: Int, _ text: String) {
            log.append(KernelLogEntry(level, nodes.prefix(node) + text))
        }

        /// `pr_*_once`: printed the first time its call site is reached.
        mutating func emitOnce(_ key: String, _ level: KernelLogEntry.Level, _ text: String) {
            guard printedOnce.insert(key).inserted else { return }
            log.append(KernelLogEntry(level, text))
        }

        /// Linux prints ACS words with `%#06x`: `0x007b`.
        static func hex06(_ v: UInt16) -> String { "0x" + hex(v, 4) }

        // MARK: - pci_enable_acs

        /// `pci_enable_acs(dev)` (drivers/pci/pci.c, reference §3), in the version the options select.
        /// An observed control value already holds what the kernel (and firmware after it) did at boot, so
        /// neither the enable nor `disable_acs_redir`/`config_acs` is applied again; device-specific quirks
        /// that act outside the ACS control register (the Intel PCH workaround's isolation flag) still run.
        mutating func enableACS(_ n: Int) {
            if controlObserved[n] {
                if acsRequested, ACSQuirkIDs.isIntelPCHRootPort(nodes, n) { acsQuirkEnabled[n] = true }
                return
            }
            if kernel.version.has(.configACS) { enableACSMainline(n) } else { enableACS61(n) }
        }

        /// 6.11 and later (`configACS`); the formula of step 4 is mainline's (v6.15+ and 6.12.23+,
        /// `acsConfigFromFirmwareControl`; 6.11's is in `configACS(_:_:mask:flags:ctrl:fw:)`):
        /// 1. with `pci_acs_enable`, the device-specific enable quirks run first; when none handles the device,
        ///    `pci_std_enable_acs` will run;
        /// 2. without an ACS capability nothing more happens;
        /// 3. `fw_ctrl` = the control word firmware left; `pci_std_enable_acs`: `ctrl |= cap & (SV|RR|CR|UF)`,
        ///    plus `cap & TB` when ATS is disabled (`pci=noats`; external-facing ports are not modelled), so
        ///    EC, DT and (by default) TB are never set;
        /// 4. `disable_acs_redir`: `ctrl = (fw_ctrl & ~(RR|CR|EC))`; then `config_acs`:
        ///    `ctrl = (fw_ctrl & ~mask) | (flags & mask)` — applied even without an IOMMU;
        /// 5. the word is written; control bits the capability lacks are hard-wired to 0 (PCIe §7.7.12.3).
        mutating func enableACSMainline(_ n: Int) {
            var enable = false
            if acsRequested, !deviceSpecificEnableACS(n) { enable = true }
            guard nodes.hasACS[n] else { return }
            let cap = nodes.acsCapability[n]
            var ctrl = controlWord[n]
            let fw = ctrl
            if enable {
                ctrl |= cap & ACSIsolation.svRRCRUF
                if parameters.atsDisabled, kernel.version.has(.noATSTranslationBlocking) { ctrl |= cap & ACSIsolation.tb }
            }
            let redirectMask = ACSIsolation.rr | ACSIsolation.cr | ACSIsolation.ec
            configACS(n, parameters.disableACSRedirect, mask: redirectMask, flags: ~redirectMask, ctrl: &ctrl, fw: fw)
            configACS(n, parameters.configACS, mask: 0, flags: 0, ctrl: &ctrl, fw: fw)
            if ACSQuirkIDs.isIntelSPTRootPort(nodes, n) { return }   // the word at +6 is read-only there
            control[n] = ctrl & cap
            controlWord[n] = control[n]
        }

        /// `__pci_config_acs(dev, caps, p, acs_mask, acs_flags)`: finds the entry of the parameter naming this
        /// device, re-parsing the list for every device with an ACS capability, so parse errors print once per
        /// such device (the `pci_err` ones) or once per boot (`pr_warn_once`).
        ///
        /// Without `acsConfigFromFirmwareControl` (6.11 as released, 47c8846a49ba): the flags are parsed only
        /// while the mask is still 0, so after the first `config_acs` entry the next one reads as a device and
        /// fails ("Can't parse ACS command line parameter"); the control is
        /// `(ctrl & ~mask) | (fw_ctrl & mask) | flags`, which for `disable_acs_redir` (flags `0xffd3`) turns on
        /// every other bit the capability has; and the `ACS control`/`ACS fw_ctrl` debug lines do not exist
        /// (9cf8a952d57b's message shows both).
        mutating func configACS(_ n: Int, _ param: String?, mask acsMask: UInt16, flags acsFlags: UInt16,
                                ctrl: inout UInt16, fw: UInt16) {
            guard let param else { return }
            let fixed = kernel.version.has(.acsConfigFromFirmwareControl)
            let s = Array(param.utf8)
            var mask = acsMask
            var flags = acsFlags
            var p = 0
            var ret = 0
            while p < s.count {
                if fixed ? acsMask == 0 : mask == 0 {
                    guard let at = s[p...].firstIndex(of: UInt8(ascii: "@")) else {
                        emit(.error, n, "ACS Flags missing")
                        return
                    }
                    mask = 0
                    flags = 0
                    var shift = 0
                    var i = at - 1
                    while i >= p {
                        let bit: UInt16 = shift < 16 ? 1 << UInt16(shift) : 0
                        switch s[i] {
                        case UInt8(ascii: "0"): mask |= bit
                        case UInt8(ascii: "1"):
                            mask |= bit
                            flags |= bit
                        case UInt8(ascii: "x"), UInt8(ascii: "X"): break
                        default:
                            emit(.error, n, "Invalid ACS flags... Ignoring")
                            return
                        }
                        shift += 1
                        i -= 1
                    }
                    p = at + 1
                }
                if mask & ~ACSFlags.all.rawValue != 0 {
                    emit(.error, n, "Invalid ACS flags specified")
                    return
                }
                let (r, end) = nodes.deviceStringMatch(n, s, at: p)
                ret = r
                if r < 0 {
                    emitOnce("config_acs", .warning, "PCI: Can't parse ACS command line parameter")
                    break
                } else if r == 1 {
                    break
                }
                p = end
                guard p < s.count, s[p] == UInt8(ascii: ";") || s[p] == UInt8(ascii: ",") else { break }
                p += 1
            }
            guard ret == 1 else { return }
            if deviceSpecificDisableACSRedirect(n) { return }
            emit(.debug, n, "ACS mask  = \(Self.hex06(mask))")
            emit(.debug, n, "ACS flags = \(Self.hex06(flags))")
            if fixed {
                emit(.debug, n, "ACS control = \(Self.hex06(ctrl))")
                emit(.debug, n, "ACS fw_ctrl = \(Self.hex06(fw))")
                ctrl = (fw & ~mask) | (flags & mask)
            } else {
                ctrl = (ctrl & ~mask) | (fw & mask) | flags
            }
            emit(.info, n, "Configured ACS to \(Self.hex06(ctrl))")
        }

        /// Linux 6.1 (as observed with Debian's 6.1.192 under QEMU, reference §3): `pci_std_enable_acs` when an
        /// IOMMU asked and no quirk handled the device (TB under `pci=noats`; external-facing ports are not modelled), then
        /// `pci_disable_acs_redir`, which clears RR, CR and EC from the value the kernel just wrote
        /// (`0x001d` -> `0x0011`). There is no `config_acs`.
        mutating func enableACS61(_ n: Int) {
            // 5.9 (`acsQuirkNeedsCapability`): `pci_acs_init` calls `pci_enable_acs` only when the device has an
            // ACS capability, so without one neither the device-specific quirk nor `pci_disable_acs_redir` runs.
            if kernel.version.has(.acsQuirkNeedsCapability), !nodes.hasACS[n] { return }
            if acsRequested, !deviceSpecificEnableACS(n), nodes.hasACS[n] {
                control[n] |= nodes.acsCapability[n] & ACSIsolation.svRRCRUF
                // 6.1's pci_std_enable_acs also sets TB under pci=noats ("Enable Translation Blocking for
                // external devices and noats"); seen under QEMU: a root port's control reads 0x001f.
                if parameters.atsDisabled, kernel.version.has(.noATSTranslationBlocking) { control[n] |= nodes.acsCapability[n] & ACSIsolation.tb }
                controlWord[n] = control[n]
            }
            disableACSRedirect61(n)
        }

        /// `pci_disable_acs_redir(dev)` of Linux 6.1.
        mutating func disableACSRedirect61(_ n: Int) {
            guard let param = parameters.disableACSRedirect else { return }
            let s = Array(param.utf8)
            var p = 0
            var ret = 0
            while p < s.count {
                let (r, end) = nodes.deviceStringMatch(n, s, at: p)
                ret = r
                if r < 0 {
                    emitOnce("disable_acs_redir", .info, "PCI: Can't parse disable_acs_redir parameter: \(param)")
                    break
                } else if r == 1 {
                    break
                }
                p = end
                guard p < s.count, s[p] == UInt8(ascii: ";") || s[p] == UInt8(ascii: ",") else { break }
                p += 1
            }
            guard ret == 1 else { return }
            if deviceSpecificDisableACSRedirect(n) { return }
            guard nodes.hasACS[n] else {
                emit(.warning, n, "cannot disable ACS redirect for this hardware as it does not have ACS capabilities")
                return
            }
            control[n] &= ~(ACSIsolation.rr | ACSIsolation.cr | ACSIsolation.ec)
            controlWord[n] = control[n]
            emit(.info, n, "disabled ACS redirect")
        }

        // MARK: - Device-specific ACS enable and disable (pci_dev_acs_ops[], drivers/pci/quirks.c)

        /// `pci_dev_specific_enable_acs`: true when a quirk handled the device (returned 0).
        /// * Intel PCH root ports without ACS (`pci_quirk_enable_intel_pch_acs`): enables the chipset's
        ///   ACS-equivalent (LPC/RCBA peer decode off, MPC IRBNCE on) and flags the port, which then counts as
        ///   isolated (`ok(SV|RR|CR|UF)`). The LPC step is assumed to succeed.
        /// * Intel SPT-style root ports (`pci_quirk_enable_intel_spt_pch_acs`): the standard enable applied to
        ///   the dword control at +8.
        mutating func deviceSpecificEnableACS(_ n: Int) -> Bool {
            if ACSQuirkIDs.isIntelPCHRootPort(nodes, n) {
                emit(.info, n, "Enabling MPC IRBNCE")
                acsQuirkEnabled[n] = true
                emit(.info, n, "Intel PCH root port ACS workaround enabled")
                return true
            }
            if ACSQuirkIDs.isIntelSPTRootPort(nodes, n), nodes.hasACS[n] {
                let cap = nodes.acsCapability[n]
                var ctrl = control[n] | (cap & ACSIsolation.svRRCRUF)
                if parameters.atsDisabled, kernel.version.has(.noATSTranslationBlocking) { ctrl |= cap & ACSIsolation.tb }
                control[n] = ctrl & cap
                emit(.info, n, "Intel SPT PCH root port ACS workaround enabled")
                return true
            }
            return false
        }

        /// `pci_dev_specific_disable_acs_redir`: true when a quirk handled it. Intel SPT-style root ports clear
        /// RR, CR and EC in their dword control (`pci_quirk_disable_intel_spt_pch_acs_redir`). Mainline calls it
        /// for `config_acs` too, so `config_acs` on such a port only disables redirection.
        mutating func deviceSpecificDisableACSRedirect(_ n: Int) -> Bool {
            guard ACSQuirkIDs.isIntelSPTRootPort(nodes, n), nodes.hasACS[n] else { return false }
            control[n] &= ~(ACSIsolation.rr | ACSIsolation.cr | ACSIsolation.ec)
            emit(.info, n, "Intel SPT PCH root port workaround: disabled ACS redirect")
            return true
        }

        var isolation: ACSIsolation {
            ACSIsolation(nodes: nodes, control: control, quirkEnabled: acsQuirkEnabled,
                         acsOverride: parameters.acsOverride, hasIVRS: hasIVRS)
        }
    }
}

extension Semantics {
    /// What the simulator does with ACS control values observed on a running kernel, in words (nil when the
    /// topology has none): `simrun show` prints it, importers record it. Names the boot-time kernel parameters
    /// the topology sets that are therefore not re-applied to those ports.
    public static func observedACSNote(_ topology: Topology, listing limit: Int = 4) -> String? {
        let observed = topology.devices.filter { $0.acs?.isObserved == true }.map(\.name)
        guard !observed.isEmpty else { return nil }
        let firmware = topology.devices.filter { $0.acs != nil && $0.acs?.isObserved == false }.count
        let parameters = KernelParameters.parse(topology.kernel, acsOverridePatch: false)
        var skipped = ["pci_enable_acs()"]
        if parameters.disableACSRedirect != nil { skipped.append("disable_acs_redir=") }
        if parameters.configACS != nil { skipped.append("config_acs=") }
        let shown = observed.prefix(limit).joined(separator: ", ") + (observed.count > limit ? ", ..." : "")
        var text = "ACS control observed on a running kernel for \(observed.count) function\(observed.count == 1 ? "" : "s") (\(shown)): taken as is, \(skipped.joined(separator: ", ")) not re-applied"
        if firmware > 0 { text += "; \(firmware) with firmware ACS control get Linux's boot-time rules" }
        return text
    }
}
