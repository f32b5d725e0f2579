// How a transfer splits into TLPs: writes at MPS, read requests at MRRS, completions at MPS or RCB.

/// One TLP's share of a transfer: the address it starts at and the bytes it carries (or requests).
public struct TLPWireChunk: Hashable, Sendable {
    public var address: UInt64
    public var byteCount: Int
    public init(address: UInt64, byteCount: Int) {
        self.address = address
        self.byteCount = byteCount
    }
}

/// The TLPs a transfer splits into, as a lazy sequence of chunks with a closed-form `count` (no allocation,
/// no iteration needed for counting).
///
/// Rules (PCIe Base §2.2.7: a memory request must not cross a 4 KiB boundary and carries at most MPS bytes
/// of data, MRd at most MRRS; §2.3.1.1: a completer may split a read into several completions, each ending on
/// an RCB boundary except the last):
/// * Requests (MWr at MPS, MRd at MRRS): with ``RequestAlignment/sizeAligned`` each TLP ends at the next
///   multiple of the size limit or of 4 KiB, so a misaligned start costs one more TLP and later TLPs stay
///   aligned; with ``RequestAlignment/fewestTLPs`` TLPs are as large as allowed from the start and split only at
///   4 KiB. Both give `ceil(S / size)` for an aligned start, pcie-bench's assumption (reference §1.4).
/// * Completions of one read request: with ``CompletionSize/maxPayloadSize`` (pcie-bench `rcb_chunks=False`)
///   or ``CompletionSize/readCompletionBoundary`` (`rcb_chunks=True`, "several older chipsets"); a misaligned
///   request's first completion ends at the next RCB boundary, the rest are full-size from there.
public struct TLPWireSplit: Sequence, Hashable, Sendable {
    /// Where requests larger than one TLP are cut.
    public enum RequestAlignment: Sendable, Hashable {
        /// At multiples of MPS/MRRS (and 4 KiB): a misaligned start costs one extra TLP.
        case sizeAligned
        /// As large as allowed from the start address, cut only at 4 KiB: the fewest TLPs the spec allows.
        case fewestTLPs
    }

    /// How large the completer makes completions.
    public enum CompletionSize: Sendable, Hashable {
        /// Up to MPS bytes each (pcie-bench default).
        case maxPayloadSize
        /// One RCB (64 or 128 B) each.
        case readCompletionBoundary
    }

    /// Memory requests must not cross this (PCIe Base §2.2.7).
    public static let pageBoundaryBytes = 4096

    enum Rule: Hashable, Sendable {
        case request(maxBytes: Int, alignment: RequestAlignment)
        case completion(maxBytes: Int, boundaryBytes: Int)
    }

    public let address: UInt64
    public let lengthBytes: Int
    let rule: Rule

    init(address: UInt64, lengthBytes: Int, rule: Rule) {
        precondition(lengthBytes >= 0, "TLPWireSplit: negative length")
        switch rule {
        case .request(let maxBytes, _): precondition(maxBytes > 0, "TLPWireSplit: size limit must be positive")
        case .completion(let maxBytes, let boundaryBytes):
            precondition(boundaryBytes > 0 && maxBytes >= boundaryBytes && maxBytes % boundaryBytes == 0,
                         "TLPWireSplit: completion size must be a positive multiple of the RCB")
        }
        self.address = address
        self.lengthBytes = lengthBytes
        self.rule = rule
    }

    /// Posted writes (MWr) of `lengthBytes` at `address`, each at most `maxPayloadSizeBytes`.
    public static func memoryWrites(address: UInt64, lengthBytes: Int, maxPayloadSizeBytes: Int,
                                    alignment: RequestAlignment = .sizeAligned) -> TLPWireSplit {
        TLPWireSplit(address: address, lengthBytes: lengthBytes,
                     rule: .request(maxBytes: maxPayloadSizeBytes, alignment: alignment))
    }

    /// Read requests (MRd) for `lengthBytes` at `address`, each for at most `maxReadRequestSizeBytes`.
    public static func memoryReadRequests(address: UInt64, lengthBytes: Int, maxReadRequestSizeBytes: Int,
                                          alignment: RequestAlignment = .sizeAligned) -> TLPWireSplit {
        TLPWireSplit(address: address, lengthBytes: lengthBytes,
                     rule: .request(maxBytes: maxReadRequestSizeBytes, alignment: alignment))
    }

    /// The completions (CplD) answering one read request. `readCompletionBoundaryBytes` must divide
    /// `maxPayloadSizeBytes` (true for every legal pair: RCB 64/128, MPS ≥ 128).
    public static func completions(requestAddress: UInt64, requestLengthBytes: Int, maxPayloadSizeBytes: Int,
                                   readCompletionBoundaryBytes: Int,
                                   size: CompletionSize = .maxPayloadSize) -> TLPWireSplit {
        let maxBytes = size == .maxPayloadSize ? maxPayloadSizeBytes : readCompletionBoundaryBytes
        return TLPWireSplit(address: requestAddress, lengthBytes: requestLengthBytes,
                            rule: .completion(maxBytes: maxBytes, boundaryBytes: readCompletionBoundaryBytes))
    }

    /// Completions for a whole read transfer: the sum over its read requests (each split on its own).
    public static func completionCount(transferAddress: UInt64, lengthBytes: Int, maxReadRequestSizeBytes: Int,
                                       maxPayloadSizeBytes: Int, readCompletionBoundaryBytes: Int,
                                       size: CompletionSize = .maxPayloadSize,
                                       requestAlignment: RequestAlignment = .sizeAligned) -> Int {
        let requests = memoryReadRequests(address: transferAddress, lengthBytes: lengthBytes,
                                          maxReadRequestSizeBytes: maxReadRequestSizeBytes,
                                          alignment: requestAlignment)
        func count(_ r: TLPWireChunk) -> Int {
            completions(requestAddress: r.address, requestLengthBytes: r.byteCount,
                        maxPayloadSizeBytes: maxPayloadSizeBytes,
                        readCompletionBoundaryBytes: readCompletionBoundaryBytes, size: size).count
        }
        let n = requests.count
        // Size-aligned requests between the first and the last all start on an MRRS boundary with MRRS bytes,
        // so they split alike: count three requests, not millions.
        if n > 3, requestAlignment == .sizeAligned, pageBoundaryBytes % maxReadRequestSizeBytes == 0,
           maxReadRequestSizeBytes % readCompletionBoundaryBytes == 0 {
            var it = requests.makeIterator()
            let first = it.next()!
            let second = it.next()!
            let endAddress = transferAddress + UInt64(lengthBytes)
            let lastStart = (endAddress - 1) / UInt64(maxReadRequestSizeBytes) * UInt64(maxReadRequestSizeBytes)
            let last = TLPWireChunk(address: lastStart, byteCount: Int(endAddress - lastStart))
            return count(first) + (n - 2) * count(second) + count(last)
        }
        return requests.reduce(0) { $0 + count($1) }
    }

    /// The number of TLPs, in closed form.
    public var count: Int {
        guard lengthBytes > 0 else { return 0 }
        let start = address
        let end = address + UInt64(lengthBytes)
        let page = UInt64(Self.pageBoundaryBytes)
        switch rule {
        case .request(let maxBytes, .sizeAligned):
            // Cuts at every multiple of the size limit or of 4 KiB strictly inside (start, end).
            let size = UInt64(maxBytes)
            func cuts(_ k: UInt64) -> UInt64 { (end - 1) / k - start / k }
            let both = lcm(size, page)
            return Int(1 + cuts(size) + cuts(page) - cuts(both))
        case .request(let maxBytes, .fewestTLPs):
            let firstPiece = Swift.min(UInt64(lengthBytes), page - start % page)
            let rest = UInt64(lengthBytes) - firstPiece
            let size = UInt64(maxBytes)
            return Int(ceilDiv(firstPiece, size) + rest / page * ceilDiv(page, size) + ceilDiv(rest % page, size))
        case .completion(let maxBytes, let boundaryBytes):
            let boundary = UInt64(boundaryBytes)
            let misalignment = start % boundary
            guard misalignment != 0 else { return Int(ceilDiv(UInt64(lengthBytes), UInt64(maxBytes))) }
            let firstPiece = Swift.min(UInt64(lengthBytes), boundary - misalignment)
            return 1 + Int(ceilDiv(UInt64(lengthBytes) - firstPiece, UInt64(maxBytes)))
        }
    }

    public var underestimatedCount: Int { count }

    public func makeIterator() -> Iterator { Iterator(cursor: address, end: address + UInt64(lengthBytes), rule: rule) }

    public struct Iterator: IteratorProtocol, Sendable {
        var cursor: UInt64
        let end: UInt64
        let rule: Rule

        public mutating func next() -> TLPWireChunk? {
            guard cursor < end else { return nil }
            let start = cursor
            let page = UInt64(TLPWireSplit.pageBoundaryBytes)
            var stop: UInt64
            switch rule {
            case .request(let maxBytes, .sizeAligned):
                let size = UInt64(maxBytes)
                stop = Swift.min((start / size + 1) * size, (start / page + 1) * page)
            case .request(let maxBytes, .fewestTLPs):
                stop = Swift.min(start + UInt64(maxBytes), (start / page + 1) * page)
            case .completion(let maxBytes, let boundaryBytes):
                let boundary = UInt64(boundaryBytes)
                stop = start % boundary != 0 ? (start / boundary + 1) * boundary : start + UInt64(maxBytes)
            }
            stop = Swift.min(stop, end)
            cursor = stop
            return TLPWireChunk(address: start, byteCount: Int(stop - start))
        }
    }
}

@inline(__always)
private func ceilDiv(_ a: UInt64, _ b: UInt64) -> UInt64 { (a + b - 1) / b }

private func lcm(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var (x, y) = (a, b)
    while y != 0 { (x, y) = (y, x % y) }
    return a / x * b
}
