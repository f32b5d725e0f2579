// Bytes one TLP occupies on the wire: header, optional ECRC digest and link-level framing.

/// The TLP types the transport model moves (PCIe Base §2.1.1).
public enum TLPKind: Sendable, Hashable, CaseIterable {
    /// MRd: a memory read request, no data.
    case memoryRead
    /// MWr: a posted memory write with data.
    case memoryWrite
    /// Cpl: a completion without data.
    case completion
    /// CplD: a completion with data.
    case completionWithData

    /// Whether the TLP carries a data payload.
    public var carriesData: Bool { self == .memoryWrite || self == .completionWithData }
}

/// Address format of memory requests (PCIe Base §2.2.4.1).
public enum TLPAddressing: Sendable, Hashable {
    /// 3 DW header; the spec requires it for addresses below 4 GiB.
    case bits32
    /// 4 DW header; pcie-bench's default and this model's.
    case bits64

    /// The format the spec requires for a request whose target is `address` (§2.2.4.1: below 4 GiB must
    /// use the 32-bit format).
    public static func required(for address: UInt64) -> TLPAddressing {
        address < 1 << 32 ? .bits32 : .bits64
    }
}

/// The wire cost of a TLP under one link configuration.
///
/// Non-flit (Gen1–5): framing + header + ECRC + payload, framing = 8 B (Gen1/2: STP 1 + sequence 2 + LCRC 4 +
/// END 1, PCIe Base §4.2.1 and §3.6.2; Gen3–5: 4-byte STP token carrying the sequence number + LCRC 4, §4.2.2.3),
/// which pcie-bench models as `DLLP_Hdr = 8` for all of them. With 64-bit addressing and no ECRC:
/// MWr 24 + P, MRd 24, CplD 20 + P (performance reference §1.2).
/// Flit mode (Gen6): no per-TLP STP, sequence number or LCRC; integrity and sequence are per flit (§4.2.3). The
/// header stays 3 DW / 4 DW for large aligned requests (byte enables move to the optional OHC).
public struct TLPWireFormat: Sendable, Hashable {
    public var addressing: TLPAddressing
    /// ECRC (TLP digest, PCIe Base §2.7): 4 bytes after the data.
    public var hasECRC: Bool
    public var usesFlitMode: Bool

    public init(addressing: TLPAddressing = .bits64, hasECRC: Bool = false, usesFlitMode: Bool = false) {
        self.addressing = addressing
        self.hasECRC = hasECRC
        self.usesFlitMode = usesFlitMode
    }

    /// The format a link of `generation` uses (flit mode at Gen6).
    public init(generation: LinkGeneration, addressing: TLPAddressing = .bits64, hasECRC: Bool = false) {
        self.init(addressing: addressing, hasECRC: hasECRC, usesFlitMode: generation.usesFlitMode)
    }

    /// Link-level wrapper per TLP outside flit mode (STP/sequence/LCRC/END, or STP token + LCRC).
    public static let nonFlitFramingBytes = 8
    public static let ecrcBytes = 4

    public var framingBytes: Int { usesFlitMode ? 0 : Self.nonFlitFramingBytes }
    public var digestBytes: Int { hasECRC ? Self.ecrcBytes : 0 }

    /// Header bytes: 4 DW for 64-bit memory requests, 3 DW for 32-bit ones and for all completions.
    public func headerBytes(_ kind: TLPKind) -> Int {
        switch kind {
        case .memoryRead, .memoryWrite: addressing == .bits64 ? 16 : 12
        case .completion, .completionWithData: 12
        }
    }

    /// Everything but the payload: framing + header + digest.
    public func overheadBytes(_ kind: TLPKind) -> Int {
        framingBytes + headerBytes(kind) + digestBytes
    }

    /// Bytes the TLP occupies on the link (before the line code and, in flit mode, before flit overhead).
    public func wireBytes(_ kind: TLPKind, payloadBytes: Int) -> Int {
        overheadBytes(kind) + (kind.carriesData ? payloadBytes : 0)
    }
}
