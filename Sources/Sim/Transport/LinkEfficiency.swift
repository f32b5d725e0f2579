// The pcie-bench link-efficiency model for one link configuration: TLP bandwidth and DMA payload bandwidth.

/// Why a link configuration cannot be modelled.
public enum LinkEfficiencyError: Error, Hashable, Sendable, CustomStringConvertible {
    case unsupportedWidth(Int)
    case invalidMaxPayloadSize(Int)
    case invalidMaxReadRequestSize(Int)
    case invalidReadCompletionBoundary(Int)

    public var description: String {
        switch self {
        case .unsupportedWidth(let w):
            "link width x\(w) is not a PCIe width (x1, x2, x4, x8, x12, x16, x32; PCIe Base §4.2.4.11)"
        case .invalidMaxPayloadSize(let b):
            "Max_Payload_Size \(b) is not 128, 256, 512, 1024, 2048 or 4096 bytes (Device Control, PCIe Base §7.5.3.4)"
        case .invalidMaxReadRequestSize(let b):
            "Max_Read_Request_Size \(b) is not 128, 256, 512, 1024, 2048 or 4096 bytes (Device Control, PCIe Base §7.5.3.4)"
        case .invalidReadCompletionBoundary(let b):
            "Read Completion Boundary \(b) is not 64 or 128 bytes (Link Control, PCIe Base §7.5.3.7)"
        }
    }
}

/// The analytic link-efficiency model of pcie-bench for one link configuration.
///
/// Source: R. Neugebauer, G. Antichi, J. F. Zazo, Y. Audzevich, S. López-Buedo, A. W. Moore, "Understanding PCIe
/// performance for end host networking", SIGCOMM 2018 (doi:10.1145/3230543.3230560), and its model code
/// (pcie-bench/pcie-model, `model/pcie.py`, `model/mem_bw.py`), as restated in the project's performance reference
/// §1. Differences, on purpose: the DLLP share can be width-scaled or derived from an explicit Ack interval
/// (``DLLPAccounting``); Gen6 uses the flit structure instead of pcie-bench's preliminary 242/256 guess; splitting
/// follows the actual addresses (4 KiB crossings, misaligned starts) instead of assuming aligned buffers; the
/// completions of a read are counted per read request.
///
/// All rates are per direction; the link is symmetric, so requests and completions see the same `B_TLP`.
///
/// ```swift
/// let link = try LinkEfficiency(generation: .gen3, width: 8, dllpAccounting: .pcieBench)
/// link.tlpDataRate                            // 7.24 GB/s (57.88 Gb/s)
/// link.writeBandwidth(transferBytes: 4096)    // 6.62 GB/s
/// ```
public struct LinkEfficiency: Hashable, Sendable {
    public let generation: LinkGeneration
    /// Lanes, W.
    public let width: Int
    /// MPS: largest MWr / CplD payload.
    public let maxPayloadSizeBytes: Int
    /// MRRS: largest MRd request.
    public let maxReadRequestSizeBytes: Int
    /// RCB: completions other than the last end on multiples of it.
    public let readCompletionBoundaryBytes: Int
    public let completionSize: TLPWireSplit.CompletionSize
    public let requestAlignment: TLPWireSplit.RequestAlignment
    public let wireFormat: TLPWireFormat
    public let dllpAccounting: DLLPAccounting
    /// The spec's Ack/UpdateFC latency limit T, in per-lane symbol times.
    public let ackLatencyLimitSymbolTimes: Int
    /// `B_TLP`: link bandwidth left for TLP bytes after DLLPs and SKP ordered sets.
    public let tlpDataRate: DataRate

    /// Validates the configuration: width one of ``supportedLinkWidths``, MPS and MRRS powers of two from 128 to
    /// 4096, RCB 64 or 128. Defaults are pcie-bench's (`pcie_bw.py`): MPS 256, MRRS 512, RCB 64, MPS-sized
    /// completions, 64-bit addresses, no ECRC.
    public init(generation: LinkGeneration, width: Int, maxPayloadSizeBytes: Int = 256,
                maxReadRequestSizeBytes: Int = 512, readCompletionBoundaryBytes: Int = 64,
                completionSize: TLPWireSplit.CompletionSize = .maxPayloadSize,
                requestAlignment: TLPWireSplit.RequestAlignment = .sizeAligned,
                addressing: TLPAddressing = .bits64, hasECRC: Bool = false,
                dllpAccounting: DLLPAccounting) throws(LinkEfficiencyError) {
        guard supportedLinkWidths.contains(width) else { throw .unsupportedWidth(width) }
        guard Self.isLegalMaxPayloadSize(maxPayloadSizeBytes) else { throw .invalidMaxPayloadSize(maxPayloadSizeBytes) }
        guard Self.isLegalMaxPayloadSize(maxReadRequestSizeBytes) else {
            throw .invalidMaxReadRequestSize(maxReadRequestSizeBytes)
        }
        guard readCompletionBoundaryBytes == 64 || readCompletionBoundaryBytes == 128 else {
            throw .invalidReadCompletionBoundary(readCompletionBoundaryBytes)
        }
        guard let t = Self.ackLatencyLimitSymbolTimes(generation: generation, width: width,
                                                      maxPayloadSizeBytes: maxPayloadSizeBytes),
              let rate = Self.tlpDataRate(generation: generation, width: width,
                                          maxPayloadSizeBytes: maxPayloadSizeBytes, accounting: dllpAccounting)
        else { throw .unsupportedWidth(width) }
        self.generation = generation
        self.width = width
        self.maxPayloadSizeBytes = maxPayloadSizeBytes
        self.maxReadRequestSizeBytes = maxReadRequestSizeBytes
        self.readCompletionBoundaryBytes = readCompletionBoundaryBytes
        self.completionSize = completionSize
        self.requestAlignment = requestAlignment
        self.wireFormat = TLPWireFormat(generation: generation, addressing: addressing, hasECRC: hasECRC)
        self.dllpAccounting = dllpAccounting
        self.ackLatencyLimitSymbolTimes = t
        self.tlpDataRate = rate
    }

    /// MPS and MRRS encodings of Device Control (PCIe Base §7.5.3.4): 128 << n bytes, n = 0...5.
    public static func isLegalMaxPayloadSize(_ bytes: Int) -> Bool {
        bytes >= 128 && bytes <= 4096 && bytes & (bytes - 1) == 0
    }

    /// `R_raw = GT/s × W × e / 8`.
    public var rawDataRate: DataRate { generation.rawDataRate(width: width) }
    /// `GT/s × W / 8`, before the line code.
    public var lineRate: DataRate { generation.lineRate(width: width) }
    /// T × symbol time: when the DES emits one Ack and one UpdateFC DLLP.
    public var ackCoalescingInterval: Picoseconds {
        Picoseconds((Double(ackLatencyLimitSymbolTimes) * generation.symbolTimePicoseconds).rounded())
    }

    // MARK: Splitting

    /// MWr TLPs for a write of `transferBytes` at `address`.
    public func writeTLPCount(transferBytes: Int, address: UInt64 = 0) -> Int {
        TLPWireSplit.memoryWrites(address: address, lengthBytes: transferBytes,
                                  maxPayloadSizeBytes: maxPayloadSizeBytes, alignment: requestAlignment).count
    }

    /// MRd TLPs for a read of `transferBytes` at `address`.
    public func readRequestCount(transferBytes: Int, address: UInt64 = 0) -> Int {
        TLPWireSplit.memoryReadRequests(address: address, lengthBytes: transferBytes,
                                        maxReadRequestSizeBytes: maxReadRequestSizeBytes,
                                        alignment: requestAlignment).count
    }

    /// CplD TLPs answering a read of `transferBytes` at `address`, summed over its read requests.
    public func completionCount(transferBytes: Int, address: UInt64 = 0) -> Int {
        TLPWireSplit.completionCount(transferAddress: address, lengthBytes: transferBytes,
                                     maxReadRequestSizeBytes: maxReadRequestSizeBytes,
                                     maxPayloadSizeBytes: maxPayloadSizeBytes,
                                     readCompletionBoundaryBytes: readCompletionBoundaryBytes,
                                     size: completionSize, requestAlignment: requestAlignment)
    }

    // MARK: Wire bytes per transfer (what a flow-level model charges each direction)

    /// `S + N_wr·(framing + header + digest)`: a write's bytes in the write direction.
    public func writeWireBytes(transferBytes: Int, address: UInt64 = 0) -> Int {
        transferBytes + writeTLPCount(transferBytes: transferBytes, address: address)
            * wireFormat.overheadBytes(.memoryWrite)
    }

    /// `N_req·(framing + header + digest)`: a read's request bytes, in the requester-to-completer direction.
    public func readRequestWireBytes(transferBytes: Int, address: UInt64 = 0) -> Int {
        readRequestCount(transferBytes: transferBytes, address: address) * wireFormat.overheadBytes(.memoryRead)
    }

    /// `S + N_cpl·(framing + header + digest)`: a read's completion bytes, in the completer-to-requester direction.
    public func completionWireBytes(transferBytes: Int, address: UInt64 = 0) -> Int {
        transferBytes + completionCount(transferBytes: transferBytes, address: address)
            * wireFormat.overheadBytes(.completionWithData)
    }

    // MARK: Effective bandwidth (reference §1.5)

    /// DMA write payload rate for back-to-back writes of `transferBytes`: `B_TLP · S / (S + N_wr·24)`
    /// (pcie-bench `mem_bw.write`).
    public func writeBandwidth(transferBytes: Int, address: UInt64 = 0) -> DataRate {
        guard transferBytes > 0 else { return DataRate(bytesPerSecond: 0) }
        return scaled(tlpDataRate, Double(transferBytes) / Double(writeWireBytes(transferBytes: transferBytes,
                                                                                 address: address)))
    }

    /// DMA read payload rate for back-to-back reads of `transferBytes`: the busier direction sets it,
    /// `min(B_TLP · S / (S + N_cpl·20), B_TLP · S / (N_req·24))` (pcie-bench `mem_bw.read`). Outstanding-request
    /// and issue-rate limits are separate (``outstandingReadBound(outstandingReadRequests:readRequestBytes:roundTrip:)``,
    /// ``issueRateBound(tlpsPerSecond:transferBytes:tlpsPerTransfer:)``).
    public func readBandwidth(transferBytes: Int, address: UInt64 = 0) -> DataRate {
        guard transferBytes > 0 else { return DataRate(bytesPerSecond: 0) }
        let s = Double(transferBytes)
        let completionLimited = s / Double(completionWireBytes(transferBytes: transferBytes, address: address))
        let requestLimited = s / Double(readRequestWireBytes(transferBytes: transferBytes, address: address))
        return scaled(tlpDataRate, min(completionLimited, requestLimited))
    }

    /// Concurrent DMA read and write of `transferBytes` each (pcie-bench `mem_bw.read_write`): the device's
    /// upstream direction carries `S + N_wr·24 + N_req·24`, downstream `S + N_cpl·20`; transfers per second =
    /// `B_TLP / max(up, down)`. Returns the payload rate of *each* of the two streams (the write stream's, which
    /// equals the read stream's), as `pcie_bw.py` prints it.
    public func concurrentReadWriteBandwidth(transferBytes: Int, address: UInt64 = 0) -> DataRate {
        guard transferBytes > 0 else { return DataRate(bytesPerSecond: 0) }
        let up = writeWireBytes(transferBytes: transferBytes, address: address)
            + readRequestWireBytes(transferBytes: transferBytes, address: address)
        let down = completionWireBytes(transferBytes: transferBytes, address: address)
        return scaled(tlpDataRate, Double(transferBytes) / Double(max(up, down)))
    }

    private func scaled(_ rate: DataRate, _ factor: Double) -> DataRate {
        DataRate(bytesPerSecond: rate.bytesPerSecond * factor)
    }
}
