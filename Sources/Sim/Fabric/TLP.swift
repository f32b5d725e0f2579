// Transaction Layer Packet attributes the router needs (PCIe Base Spec §2.2).

extension TLPKind {
    /// A non-posted read request: it gets a completion back.
    public var isRead: Bool { self == .memoryRead }
    /// The mnemonic the PCIe spec uses.
    public var mnemonic: String {
        switch self {
        case .memoryRead: "MRd"
        case .memoryWrite: "MWr"
        case .completion: "Cpl"
        case .completionWithData: "CplD"
        }
    }
}

/// The AT field of a memory request (PCIe Base §2.2.4.1, §10.2.1).
public enum AddressType: UInt8, Sendable, Hashable {
    /// 00b: an untranslated address (an IOVA when an IOMMU translates at the root complex).
    case untranslated = 0
    /// 01b: an ATS Translation Request.
    case translationRequest = 1
    /// 10b: a translated address obtained through ATS.
    case translated = 2

    public var text: String {
        switch self {
        case .untranslated: "untranslated"
        case .translationRequest: "translation request"
        case .translated: "translated"
        }
    }
}

/// A memory request as a device issues it (`kind` is `.memoryRead` or `.memoryWrite`).
public struct TLPRequest: Sendable, Hashable {
    public var kind: TLPKind
    /// Function index of the requester.
    public var requester: Int
    public var address: UInt64
    public var addressType: AddressType
    /// Relaxed Ordering attribute; its completions carry it too (ACS CR does not redirect RO completions).
    public var relaxedOrdering: Bool
    /// The Requester ID the TLP carries when it is not the requester's own (a misconfigured or malicious
    /// function); ACS Source Validation checks it.
    public var spoofedRequesterID: BDF?

    public init(kind: TLPKind, requester: Int, address: UInt64, addressType: AddressType = .untranslated,
                relaxedOrdering: Bool = false, spoofedRequesterID: BDF? = nil) {
        self.kind = kind
        self.requester = requester
        self.address = address
        self.addressType = addressType
        self.relaxedOrdering = relaxedOrdering
        self.spoofedRequesterID = spoofedRequesterID
    }
}

/// What the IOMMU at the root complex does with an untranslated address.
public enum TranslationOutcome: Sendable, Hashable {
    /// No IOMMU translates for this root complex (IOMMU off): the address is physical.
    case noIOMMU
    /// An identity (passthrough) domain: IOVA == physical address.
    case identity
    /// A DMA domain mapped the IOVA to this physical address.
    case translated(UInt64)
    /// An IOMMU fault (no mapping, permission), with its reason.
    case fault(String)
}

/// Translates untranslated addresses at the root complex. Generic (not existential) where the router uses it.
public protocol AddressTranslator {
    func translate(requester: Int, address: UInt64, isWrite: Bool) -> TranslationOutcome
}

/// The IOMMU as the topology configures it, with every DMA-domain address assumed mapped 1:1 by the driver.
/// `simrun route` uses it; the mapping API supplies real domains.
public struct ConfiguredTranslator: AddressTranslator {
    let modes: [IOMMUMode?]   // per root complex
    let rootComplexOf: [Int]
    public init(_ fabric: Fabric, iommuEnabled: Bool = true) {
        let t = fabric.topology
        modes = t.rootComplexes.map { rc in
            guard iommuEnabled, let name = rc.iommu, let u = t.iommus.first(where: { $0.name == name }), u.kind != .none else { return nil }
            return u.mode == .off ? nil : u.mode
        }
        rootComplexOf = fabric.enumeration.functions.map(\.rootComplex)
    }
    public func translate(requester: Int, address: UInt64, isWrite: Bool) -> TranslationOutcome {
        switch modes[rootComplexOf[requester]] {
        case nil: .noIOMMU
        case .passthrough?: .identity
        default: .translated(address)
        }
    }
}
