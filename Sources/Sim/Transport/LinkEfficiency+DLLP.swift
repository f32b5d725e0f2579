// Data-link and physical-layer overheads: Ack/UpdateFC latency limits, the DLLP accountings, SKP ordered sets.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the share of link time taken by Ack and UpdateFC DLLPs is charged (performance reference §1.3, §1.7).
///
/// The spec limit T is a *maximum* Ack latency in per-lane symbol times; an 8-byte DLLP on a xW link takes only
/// 8/W symbol times, and real devices may Ack more often than every T. The two published accountings bracket
/// reality (Gen5 x16 MPS 256 writes measure 55.6–56.6 GB/s against 51.98 pb / 57.12 w).
public enum DLLPAccounting: Sendable, Hashable {
    /// pcie-bench as published: `R_raw·(1 − 8/T_ack − 8/T_fc − 4/1538)` (conservative; correct for x1 only).
    case pcieBench
    /// Width-scaled: `R_raw·(1 − 8/(W·T_ack) − 8/(W·T_fc) − 4/1538)` (optimistic: Acks at the spec maximum).
    case widthScaled
    /// What a discrete-event model that emits one Ack and one UpdateFC DLLP every `interval` sees; see
    /// ``LinkEfficiency/explicitAckTLPDataRate(generation:width:ackInterval:)``.
    case explicitAck(interval: Picoseconds)
}

extension LinkEfficiency {
    /// Bytes a DLLP occupies on the wire: 6-byte DLLP (with its 16-bit CRC) + 2 bytes framing (SDP + END at
    /// Gen1/2, the 2-byte SDP token at Gen3–5). pcie-bench `Ack_Size`, `FC_Size`.
    public static let dllpWireBytes = 8

    /// SKP ordered sets for clock compensation: 4 symbols every 1538, on all lanes (pcie-bench `SKIP_Length`,
    /// `SKIP_Interval`, applied to every non-flit generation; SKP in flit mode is ignored, reference §1.7).
    public static let skpOrderedSetShare: Double = 4.0 / 1538.0

    /// The Ack and UpdateFC latency limit T in per-lane symbol times, for a link of `width` lanes at `generation`
    /// with `maxPayloadSizeBytes`; nil for a width or MPS the spec tables lack.
    ///
    /// PCIe Base rev 5.0 Tables 3-7/3-8/3-9 (Ack, "Maximum Ack Latency Limits and AckFactor") and 2-46/2-47/2-48
    /// (UpdateFC, same values) compute `T = (MPS + TLPOverhead)·AckFactor / W + InternalDelay`, rounded down, with
    /// TLPOverhead = 28 symbols and InternalDelay = 19 (2.5 GT/s), 70 (5.0 GT/s), 115 (8.0 GT/s) symbol times;
    /// Tx_L0s_Adjustment is taken as 0 (L0s off). This reproduces pcie-bench's `Ack_Limits` and `FC_Guide`
    /// tables except two x32 cells where one of them breaks the formula and the other agrees with it (Gen1
    /// MPS 2048: `FC_Guide` 248, `Ack_Limits` 148; Gen2 MPS 4096: `Ack_Limits` 237, `FC_Guide` 327), taken here
    /// as typos; one T serves Ack and UpdateFC. As in pcie-bench and the reference, the 8.0 GT/s table is
    /// reused for 16, 32 and 64 GT/s (the spec has per-rate tables; < 1 % once width-scaled).
    public static func ackLatencyLimitSymbolTimes(generation: LinkGeneration, width: Int,
                                                  maxPayloadSizeBytes: Int) -> Int? {
        guard let tenths = ackFactorTenths(width: width, maxPayloadSizeBytes: maxPayloadSizeBytes) else { return nil }
        let internalDelaySymbolTimes = switch generation {
        case .gen1: 19
        case .gen2: 70
        case .gen3, .gen4, .gen5, .gen6: 115
        }
        let tlpOverheadSymbols = 28
        return (maxPayloadSizeBytes + tlpOverheadSymbols) * tenths / (10 * width) + internalDelaySymbolTimes
    }

    /// AckFactor (= UpdateFactor) × 10 from the spec tables: 1.4 for x1–x4 at MPS ≤ 256, 2.5 for x8 at MPS ≤ 256,
    /// 3.0 for x12–x32 at MPS ≤ 256; from MPS 512 on, 1.0 for x1–x8 and 2.0 for x12–x32.
    static func ackFactorTenths(width: Int, maxPayloadSizeBytes: Int) -> Int? {
        guard isLegalMaxPayloadSize(maxPayloadSizeBytes), supportedLinkWidths.contains(width) else { return nil }
        if maxPayloadSizeBytes <= 256 {
            return width <= 4 ? 14 : width == 8 ? 25 : 30
        }
        return width <= 8 ? 10 : 20
    }

    /// The Ack/UpdateFC coalescing interval: the spec limit T (symbol times) × one symbol time, rounded to the
    /// picosecond. Gen1 x1 MPS 128: 237 × 4 ns = 948 ns; Gen3 x8 MPS 256: 203 × 1.015625 ns = 206.172 ns.
    ///
    /// Derivation: T counts per-lane symbol times, and all W lanes send their symbols side by side, so T symbol
    /// times is a duration independent of width (the link moves W·T bytes in it: the reference's "T × width" is
    /// the same interval measured in bytes). A symbol time is 10 line bits at Gen1/2 and 8 + 2/16 line bits
    /// at Gen3–5 (``LinkGeneration/symbolTimePicoseconds``). For Gen6 this is the reused Gen3 T at 125 ps, but in
    /// flit mode Ack/FC ride in each flit's DLP bytes and a DES should emit no DLLPs.
    public static func ackCoalescingInterval(generation: LinkGeneration, width: Int,
                                             maxPayloadSizeBytes: Int) -> Picoseconds? {
        guard let t = ackLatencyLimitSymbolTimes(generation: generation, width: width,
                                                 maxPayloadSizeBytes: maxPayloadSizeBytes) else { return nil }
        return Picoseconds((Double(t) * generation.symbolTimePicoseconds).rounded())
    }

    /// The transport model's default coalescing interval, `T / W^α` (``TransportParameters/ackWidthExponent``): α = 0 is
    /// ``ackCoalescingInterval(generation:width:maxPayloadSizeBytes:)`` (the width-scaled accounting), α = 1 pcie-bench's.
    public static func defaultAckInterval(generation: LinkGeneration, width: Int, maxPayloadSizeBytes: Int,
                                          widthExponent: Double) -> Picoseconds? {
        guard let t = ackCoalescingInterval(generation: generation, width: width, maxPayloadSizeBytes: maxPayloadSizeBytes) else { return nil }
        return max(1, Picoseconds((Double(t) / pow(Double(width), widthExponent)).rounded()))
    }

    /// TLP bandwidth when one Ack and one UpdateFC DLLP (8 bytes each) are sent every `ackInterval`, the way the
    /// discrete-event transport model emits them, plus SKP ordered sets.
    ///
    /// An 8-byte DLLP striped over W lanes occupies 8/W symbol times, so the DLLP share is
    /// `2·(8/W)·t_sym / I` and `B = R_raw·(1 − 16·t_sym/(W·I) − 4/1538)`. With I = T symbol times (the spec
    /// maximum, ``ackCoalescingInterval(generation:width:maxPayloadSizeBytes:)``) this *equals* the
    /// ``DLLPAccounting/widthScaled`` accounting (up to the picosecond rounding of I); with I = T/W symbol times
    /// it equals ``DLLPAccounting/pcieBench``; any I between T/W and T gives a rate between the two. In flit mode
    /// DLLPs travel inside the flits and the rate is `R_raw`. Lane-alignment padding of DLLPs on wide links is
    /// ignored, as in both accountings. A non-positive interval, or one so short that DLLPs would fill the link,
    /// gives zero.
    public static func explicitAckTLPDataRate(generation: LinkGeneration, width: Int,
                                              ackInterval: Picoseconds) -> DataRate {
        let raw = generation.rawDataRate(width: width)
        if generation.usesFlitMode { return raw }
        guard ackInterval > 0, width > 0 else { return DataRate(bytesPerSecond: 0) }
        let dllpTimePicoseconds = Double(dllpWireBytes) / Double(width) * generation.symbolTimePicoseconds
        let dllpShare = 2 * dllpTimePicoseconds / Double(ackInterval)
        return DataRate(bytesPerSecond: raw.bytesPerSecond * max(0, 1 - dllpShare - skpOrderedSetShare))
    }

    /// `B_TLP`: the link time left for TLP bytes, per direction, under an accounting (reference §1.3, §1.7);
    /// nil for a width or MPS the spec tables lack. Flit mode (Gen6): `R_raw` (236/256 of the line) under every
    /// accounting, since Ack/FC travel in the DLP bytes and SKP insertion is ignored (reference §1.7 item 2).
    public static func tlpDataRate(generation: LinkGeneration, width: Int, maxPayloadSizeBytes: Int,
                                   accounting: DLLPAccounting) -> DataRate? {
        guard let t = ackLatencyLimitSymbolTimes(generation: generation, width: width,
                                                 maxPayloadSizeBytes: maxPayloadSizeBytes) else { return nil }
        let raw = generation.rawDataRate(width: width)
        if generation.usesFlitMode { return raw }
        let dllpBytes = Double(dllpWireBytes)
        switch accounting {
        case .pcieBench:
            let share = dllpBytes / Double(t) + dllpBytes / Double(t) + skpOrderedSetShare
            return DataRate(bytesPerSecond: raw.bytesPerSecond * (1 - share))
        case .widthScaled:
            let laneSymbolTimes = Double(width * t)
            let share = dllpBytes / laneSymbolTimes + dllpBytes / laneSymbolTimes + skpOrderedSetShare
            return DataRate(bytesPerSecond: raw.bytesPerSecond * (1 - share))
        case .explicitAck(let interval):
            return explicitAckTLPDataRate(generation: generation, width: width, ackInterval: interval)
        }
    }

    /// pcie-bench's `TLP_bw` exactly as published, for comparison only: Gen1–5 equal ``DLLPAccounting/pcieBench``;
    /// Gen6 ("preliminary") applies 242/256 as a line code *and* the Gen3 Ack/FC DLLP overhead, and its
    /// `mem_bw.write` still adds 8 B framing per TLP (reference §1.1, §1.7 item 2: Gen6 x16 MPS 256 writes
    /// ≈ 99.8 GB/s against the flit-structure estimate 111.06).
    public static func pcieBenchPublishedTLPDataRate(generation: LinkGeneration, width: Int,
                                                     maxPayloadSizeBytes: Int) -> DataRate? {
        guard generation.usesFlitMode else {
            return tlpDataRate(generation: generation, width: width, maxPayloadSizeBytes: maxPayloadSizeBytes,
                               accounting: .pcieBench)
        }
        guard let t = ackLatencyLimitSymbolTimes(generation: generation, width: width,
                                                 maxPayloadSizeBytes: maxPayloadSizeBytes) else { return nil }
        let raw = generation.gigatransfersPerSecond * Double(width) * (242.0 / 256.0) / 8
        let share = 2 * Double(dllpWireBytes) / Double(t) + skpOrderedSetShare
        return .gigabytesPerSecond(raw * (1 - share))
    }
}
