// Line codes per PCIe generation, symbol times, and the per-direction raw rate they leave (pcie-bench §1.1).

/// How a PCIe generation puts bytes on a lane.
///
/// The shares follow the pcie-bench model (Neugebauer et al., "Understanding PCIe performance for end host
/// networking", SIGCOMM 2018, doi:10.1145/3230543.3230560; code: pcie-bench/pcie-model `model/pcie.py`) and the
/// project's performance reference (§1.1), except for flit mode: pcie-bench applies 242/256 as if it were a
/// line code and still charges per-TLP framing and DLLPs; here flit mode gives TLP bytes their 236/256 share
/// and charges no framing and no DLLPs (see ``LinkEfficiency/pcieBenchPublishedTLPDataRate(generation:width:maxPayloadSizeBytes:)``
/// for the published variant).
public enum LineCode: Sendable, Hashable {
    /// 8b/10b: each byte travels as a 10-bit symbol (PCIe Base §4.2.1; 2.5 and 5.0 GT/s).
    case code8b10b
    /// 128b/130b: 16-byte blocks behind a 2-bit sync header (PCIe Base §4.2.2; 8.0, 16.0 and 32.0 GT/s).
    case code128b130b
    /// Flit mode: 256-byte flits of 236 TLP bytes + 6 DLP bytes + 8 CRC + 6 FEC, no line code
    /// (PCIe Base 6.0 §4.2.3; 64 GT/s PAM4). Ack and UpdateFC ride in the DLP bytes of every flit.
    case flit

    /// Bytes of one flit and the TLP bytes it carries (PCIe Base 6.0 §4.2.3).
    public static let flitBytes = 256
    public static let flitTLPBytes = 236

    /// `e`: the share of line bits that carries TLP bytes (and, outside flit mode, DLLP bytes).
    public var dataShare: Double {
        switch self {
        case .code8b10b: 8.0 / 10.0
        case .code128b130b: 128.0 / 130.0
        case .flit: Double(Self.flitTLPBytes) / Double(Self.flitBytes)
        }
    }

    /// Line bits one lane spends per symbol (one byte), the sync header's share included:
    /// 10 for 8b/10b, 130/16 = 8.125 for 128b/130b, 8 in flit mode (FEC/CRC are flit bytes, not line code).
    public var lineBitsPerSymbol: Double {
        switch self {
        case .code8b10b: 10
        case .code128b130b: 130.0 / 16.0
        case .flit: 8
        }
    }
}

extension LinkGeneration {
    /// The line code this generation uses (Gen6 in flit mode, the only mode this model gives it).
    public var lineCode: LineCode {
        switch self {
        case .gen1, .gen2: .code8b10b
        case .gen3, .gen4, .gen5: .code128b130b
        case .gen6: .flit
        }
    }

    /// True when TLPs travel in flits: no per-TLP framing, no DLLPs on the wire.
    public var usesFlitMode: Bool { lineCode == .flit }

    /// One symbol time: the time one lane takes to send one symbol (one byte and its line-code share),
    /// `lineBitsPerSymbol / GT/s`. Gen1 4000 ps, Gen2 2000 ps (10 bits); Gen3 1015.625 ps, Gen4 507.8125 ps,
    /// Gen5 253.90625 ps (8 bits + 2/16 sync bits); Gen6 125 ps (8 bits at 64 GT/s). The spec's Ack and
    /// UpdateFC latency limits are counted in this unit. Not integral at Gen3+, hence a `Double`.
    public var symbolTimePicoseconds: Double { lineCode.lineBitsPerSymbol / gigatransfersPerSecond * 1000 }

    /// The line rate without any line code, `GT/s × W / 8` (the "raw bit rate" ceiling; Gen5 x16 = 64 GB/s).
    public func lineRate(width: Int) -> DataRate {
        .gigabytesPerSecond(gigatransfersPerSecond * Double(width) / 8)
    }

    /// `R_raw = GT/s × W × e / 8`, per direction: what the line code leaves for TLPs and DLLPs
    /// (in flit mode: for TLPs alone). Performance reference §1.1.
    public func rawDataRate(width: Int) -> DataRate {
        .gigabytesPerSecond(gigatransfersPerSecond * Double(width) * lineCode.dataShare / 8)
    }
}
