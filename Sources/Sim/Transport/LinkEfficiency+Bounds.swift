// Bounds the link formulas do not contain: outstanding reads (Little's law) and requester issue rate.

extension LinkEfficiency {
    /// Little's law for reads: at most `N_outstanding · MRRS / RTT` (performance reference §1.5). A
    /// non-positive round trip bounds nothing (infinite rate).
    public static func outstandingReadBound(outstandingReadRequests: Int, readRequestBytes: Int,
                                            roundTrip: Picoseconds) -> DataRate {
        guard roundTrip > 0 else { return DataRate(bytesPerSecond: .infinity) }
        return DataRate(bytesPerSecond: Double(outstandingReadRequests) * Double(readRequestBytes)
                            / (Double(roundTrip) * 1e-12))
    }

    /// Read requests that must be in flight to sustain `rate`: `rate · RTT / MRRS` (not rounded). Gen4 x16 at
    /// 28 GB/s, 1 µs, MRRS 512 ⇒ 54.7 ≈ 55; Gen6 x16 at 112 GB/s ⇒ ≈ 219, near the 256 that 8-bit tags allow
    /// (reference §1.5).
    public static func outstandingReadRequestCount(sustaining rate: DataRate, readRequestBytes: Int,
                                                   roundTrip: Picoseconds) -> Double {
        rate.bytesPerSecond * (Double(max(0, roundTrip)) * 1e-12) / Double(readRequestBytes)
    }

    /// Requester issue-rate bound: a DMA engine that issues at most `tlpsPerSecond` TLPs, and needs
    /// `tlpsPerTransfer` of them per transfer, moves at most `tlpsPerSecond / tlpsPerTransfer · S` (reference §1.5).
    public static func issueRateBound(tlpsPerSecond: Double, transferBytes: Int, tlpsPerTransfer: Int) -> DataRate {
        guard tlpsPerTransfer > 0 else { return DataRate(bytesPerSecond: .infinity) }
        return DataRate(bytesPerSecond: tlpsPerSecond / Double(tlpsPerTransfer) * Double(transferBytes))
    }

    /// The issue-rate bound of writes of `transferBytes` at `address`, split at this link's MPS.
    public func writeIssueRateBound(tlpsPerSecond: Double, transferBytes: Int, address: UInt64 = 0) -> DataRate {
        Self.issueRateBound(tlpsPerSecond: tlpsPerSecond, transferBytes: transferBytes,
                            tlpsPerTransfer: writeTLPCount(transferBytes: transferBytes, address: address))
    }

    /// The issue-rate bound of reads of `transferBytes` at `address`: the requester issues the MRd TLPs.
    public func readIssueRateBound(tlpsPerSecond: Double, transferBytes: Int, address: UInt64 = 0) -> DataRate {
        Self.issueRateBound(tlpsPerSecond: tlpsPerSecond, transferBytes: transferBytes,
                            tlpsPerTransfer: readRequestCount(transferBytes: transferBytes, address: address))
    }
}
