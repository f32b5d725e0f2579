/// The facts a function's configuration space states, laid over what an importer already has: sysfs reads the
/// bytes from `config`, lspci pastes carry them as `-x`/`-xxx`/`-xxxx` hex dumps. One decoder (PCIConfigSpace)
/// and one mapping for both, so a fact means the same whichever source gave it.
extension ImportedFunction {
    /// A fact the function already had that its configuration space contradicts: the register wins (the text it
    /// came from is a decoding of the same bytes, so a difference means the text was damaged or cut).
    public struct ConfigDisagreement: Sendable, Hashable {
        public var fact: String
        public var had: String
        public var config: String
    }

    /// Takes every fact `config` states. A fact the bytes do not reach (64 bytes read as non-root) is left as it
    /// was; one they show absent (no ACS capability in a full 4 KiB) becomes known-absent.
    @discardableResult
    /// `windows: false` leaves the bridge windows to a source that states the kernel's (lspci's text, sysfs).
    public mutating func adopt(_ config: PCIConfigSpace, windows: Bool = true) -> [ConfigDisagreement] {
        var out: [ConfigDisagreement] = []
        func take<T: Equatable>(_ fact: String, _ path: WritableKeyPath<ImportedFunction, T?>, _ value: T?, _ show: (T) -> String) {
            guard let value else { return }
            if let had = self[keyPath: path], had != value {
                out.append(ConfigDisagreement(fact: fact, had: show(had), config: show(value)))
            }
            self[keyPath: path] = value
        }
        let described: (CustomStringConvertible) -> String = { $0.description }
        if let v = config.vendorID, let d = config.deviceID, v != 0xFFFF {
            take("vendor:device", \.id, PCIID(vendor: v, device: d), described)
        }
        take("class", \.classCode, config.classCode) { "0x" + hex(Int($0), 6) }
        take("revision", \.revision, config.revision) { "0x" + hex(Int($0), 2) }
        if config.headerType == 1 {
            take("secondary bus", \.secondaryBus, config.secondaryBus) { hex(Int($0), 2) }
            take("subordinate bus", \.subordinateBus, config.subordinateBus) { hex(Int($0), 2) }
            if windows {
                take("memory window", \.memoryWindow, config.memoryWindow, described)
                take("prefetchable window", \.prefetchableWindow, config.prefetchableWindow, described)
            }
        }
        switch config.express {
        case .present(let cap):
            take("PCI Express", \.isPCIe, true, described)
            take("port type", \.portType, cap.portType) { $0.lspciName }
            take("MaxPayload supported", \.maxPayloadSupported, cap.maxPayloadSupported, described)
            take("MaxPayload", \.maxPayload, cap.maxPayload, described)
            take("MaxReadReq", \.maxReadRequest, cap.maxReadRequest, described)
            take("read completion boundary", \.readCompletionBoundary, cap.readCompletionBoundary, described)
            take("tag bits", \.tagBits, cap.tagBits, described)
            take("LnkCap speed", \.maxLinkGeneration, cap.maxLinkGeneration) { $0.rawValue.description }
            take("LnkCap width", \.maxLinkWidth, cap.maxLinkWidth, described)
            take("LnkSta speed", \.linkGeneration, cap.linkGeneration) { $0.rawValue.description }
            take("LnkSta width", \.linkWidth, cap.linkWidth, described)
        case .absent:
            take("PCI Express", \.isPCIe, false, described)
        case .unreadable:
            break
        }
        switch config.acs {
        case .present(var acs):
            acs.controlSource = .observed       // read from a running kernel's config space
            // lspci's text has no egress vector: the registers are compared, the vector comes from the bytes.
            if let had = self.acs, had.capability != acs.capability || had.control != acs.control {
                out.append(ConfigDisagreement(fact: "ACS", had: Self.acsText(had), config: Self.acsText(acs)))
            }
            self.acs = acs
            acsKnown = true
        case .absent:
            if let had = self.acs { out.append(ConfigDisagreement(fact: "ACS", had: Self.acsText(had), config: "no ACS capability")) }
            self.acs = nil
            acsKnown = true
        case .unreadable:
            break
        }
        let ats = config.extendedCapability(ExtendedCapability.ats), pasid = config.extendedCapability(ExtendedCapability.pasid)
        if ats.isKnown { take("ATS", \.supportsATS, ats.value != nil, described) }
        if pasid.isKnown { take("PASID", \.supportsPASID, pasid.value != nil, described) }
        take("Device Serial Number", \.serialNumber, config.serialNumber.value) { hex(Int(truncatingIfNeeded: $0), 16) }
        if sriov == nil, let c = config.sriov.value, c.totalVFs > 0 {
            // NumVFs counts only while VF Enable is set (SR-IOV Control bit 0, PCIe Base §9.3.3.3.1).
            sriov = ImportedSRIOV(totalVFs: c.totalVFs, enabledVFs: c.vfEnable ? c.numVFs : 0, offset: c.firstVFOffset, stride: c.vfStride, vfDevice: c.vfDeviceID)
        }
        return out
    }

    static func acsText(_ a: ACSState) -> String {
        "ACSCap: \(a.capability.lspciForm) ACSCtl: \(a.control.lspciForm)"
    }
}
