// Which mode each IOMMU unit boots in: the `<iommu>` element is the hardware (and the kernel's default for it),
// the kernel command line decides, as Linux's early parameters do.

extension KernelParameters {
    /// The domain type (or `off`) a unit boots with, the way Linux decides it (v6.1 and mainline alike):
    ///
    /// 1. Whether the driver initialises. VT-d: `intel_iommu=on` clears `dmar_disabled`, `intel_iommu=off` sets it
    ///    (`intel_iommu_setup`, drivers/iommu/intel/iommu.c); without either the kernel's build default holds
    ///    (`dmar_disabled = !IS_ENABLED(CONFIG_INTEL_IOMMU_DEFAULT_ON)`), which the file's `mode` stands for:
    ///    `mode="off"` is a kernel (or firmware) that leaves VT-d off unless asked. AMD-Vi: on whenever the IVRS
    ///    table describes it, off with `amd_iommu=off` (`parse_amd_iommu_options`, drivers/iommu/amd/init.c); there
    ///    is no `amd_iommu=on`. x86 `iommu=off` (`no_iommu`, arch/x86/kernel/pci-dma.c) stops both. SMMUv3 has no
    ///    such switch on the command line.
    /// 2. The default domain type. `iommu=pt` / `iommu.passthrough=1` select identity, `iommu=nopt` /
    ///    `iommu.passthrough=0` a translated (DMA) domain (`iommu_set_def_domain_type`, drivers/iommu/iommu.c and
    ///    `iommu_setup`); `iommu.strict=1` makes a DMA domain strict (`dma`), `=0` lazy (`dma-fq`, a flush queue;
    ///    `iommu_dma_setup`, then `iommu_subsys_init` turns DMA into DMA-FQ when not strict). Without them the file's
    ///    `mode` is the build default (CONFIG_IOMMU_DEFAULT_PASSTHROUGH / _DMA_STRICT / _DMA_LAZY).
    /// 3. A unit the command line switches on while the file said `off` gets the build default Kconfig picks for its
    ///    architecture: lazy DMA (`dma-fq`) on x86, strict `dma` elsewhere ("IOMMU default domain type",
    ///    drivers/iommu/Kconfig: `default IOMMU_DEFAULT_DMA_LAZY if X86`).
    ///
    /// A unit of kind `none` stands for no IOMMU at all and boots `off`.
    public func bootMode(of unit: IOMMUUnit) -> IOMMUMode {
        let enabled: Bool
        switch unit.kind {
        case .none: return .off
        case .vtd: enabled = !iommuOff && (intelIOMMU ?? (unit.mode != .off))
        case .amdVi: enabled = !iommuOff && !amdIOMMUDisabled && unit.mode != .off
        case .smmuv3: enabled = unit.mode != .off
        }
        guard enabled else { return .off }
        let architectureDefault: IOMMUMode = unit.kind == .smmuv3 ? .dma : .dmaFQ
        var mode = unit.mode == .off ? architectureDefault : unit.mode
        if let passthrough {
            if passthrough { mode = .passthrough } else if mode == .passthrough { mode = architectureDefault }
        }
        if let strict, mode == .dma || mode == .dmaFQ { mode = strict ? .dma : .dmaFQ }
        return mode
    }

    /// Options that contradict the machine they boot on, in words (no kernel prints these: Linux ignores an option
    /// for hardware it does not find). Empty when the line and the machine agree.
    public func contradictions(_ topology: Topology) -> [String] {
        var out: [String] = []
        let kinds = Set(topology.iommus.map(\.kind))
        func units() -> String {
            topology.iommus.isEmpty ? "it has no IOMMU" : "its IOMMUs: " + topology.iommus.map { "\($0.name) \($0.kind.rawValue)" }.joined(separator: ", ")
        }
        if let on = intelIOMMU, !kinds.contains(.vtd) {
            out.append("kernel command line: intel_iommu=\(on ? "on" : "off") has no effect: the machine has no VT-d unit (\(units()))")
        }
        if amdIOMMUDisabled, !kinds.contains(.amdVi) {
            out.append("kernel command line: amd_iommu=off has no effect: the machine has no AMD-Vi unit (\(units()))")
        }
        let active = topology.iommus.filter { bootMode(of: $0) != .off }
        if active.isEmpty, passthrough != nil || strict != nil {
            let given = [passthrough.map { $0 ? "iommu=pt" : "iommu=nopt" }, strict.map { "iommu.strict=\($0 ? 1 : 0)" }].compactMap { $0 }
            out.append("kernel command line: \(given.joined(separator: " ")) has no effect: no IOMMU is active on this machine")
        }
        return out
    }
}

extension KernelConfiguration {
    /// This command line with `extra` appended (`--append-cmdline`): later options win where the kernel keeps the
    /// last value, as it does for every option the semantics layer reads.
    public func appending(_ extra: String) -> KernelConfiguration {
        let trimmed = extra.strippingBlanks()
        guard !trimmed.isEmpty else { return self }
        return KernelConfiguration(commandLine: commandLine.isEmpty ? trimmed : commandLine + " " + trimmed, version: version)
    }
}

extension String {
    func strippingBlanks() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
