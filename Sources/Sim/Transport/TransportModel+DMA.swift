// The requester's DMA engine: splitting at MPS/MRRS and 4 KiB, tags and outstanding reads, issue rate, ATC.

extension TransportModel {
    /// Issues the flow's next TLP if nothing holds it back: one TLP of the flow waits in its source queue at a
    /// time (the link back-pressures the engine), reads need a free tag and room under the queue depth, the
    /// engine's issue-rate cap spaces TLPs, and with ATS the page must be in the ATC.
    mutating func issue(_ f: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        guard !flowState[f].queuedAtSource, !flowState[f].issueScheduled, flowState[f].issuedBytes < flows[f].bytes,
              sim.now >= flows[f].start else { return }
        let requester = flowConfig[f].requester
        let (address, contiguous, startsDMA) = nextAddress(f)

        if flowConfig[f].usesATS {
            let page = address >> UInt64(flowConfig[f].pageShift)
            if page != flowState[f].atcPage {
                guard !flowState[f].translationPending else { return }
                flowState[f].atcLookups += 1
                if atcLookup(requester, key: atcKey(page: page, shift: flowConfig[f].pageShift)) {
                    flowState[f].atcHits += 1
                    flowState[f].atcPage = page
                } else {
                    guard try takeTag(f, requester, &sim) else {
                        flowState[f].atcLookups -= 1
                        return
                    }
                    guard try paced(f, requester, isRead: true, &sim) else {
                        engineTagsInUse[requester] -= 1
                        flowState[f].atcLookups -= 1
                        return
                    }
                    try sendTranslationRequest(f, page: page, &sim)
                    return
                }
            }
        }
        let isRead = flowConfig[f].isRead
        let perDMA = flowConfig[f].transfer > 0
        // The queue depth counts read requests in flight, or with a transfer size DMAs in flight (reads and writes:
        // a DMA is in flight from its first TLP until its last completion came back or its last byte landed).
        if !perDMA || startsDMA {
            guard flowState[f].outstanding < flowConfig[f].queueDepth else { return }
        }
        // A launch latency (dma.launchLatency): the engine takes the DMA on now and issues its first TLP later; the
        // DMA's latency counts from the launch, as a copy's does from its submission.
        if perDMA, startsDMA, flowConfig[f].launch > 0 {
            if flowState[f].launchReadyAt < 0 {
                flowState[f].launchBegan = sim.now
                flowState[f].launchReadyAt = sim.now + flowConfig[f].launch
                flowState[f].issueScheduled = true
                try sim.schedule(.issue(Int32(f)), at: flowState[f].launchReadyAt)
                return
            }
            guard sim.now >= flowState[f].launchReadyAt else { return }
        }
        if isRead {
            guard try takeTag(f, requester, &sim) else { return }
        }
        guard try paced(f, requester, isRead: isRead, &sim) else {
            if isRead { engineTagsInUse[requester] -= 1 }
            return
        }
        let limit = flowConfig[f].maxRequest
        var pieces = (isRead
            ? TLPWireSplit.memoryReadRequests(address: address, lengthBytes: Int(contiguous), maxReadRequestSizeBytes: limit)
            : TLPWireSplit.memoryWrites(address: address, lengthBytes: Int(contiguous), maxPayloadSizeBytes: limit))
            .makeIterator()
        guard let piece = pieces.next() else { return }
        let t = allocateTLP()
        tlps[t].flow = Int32(f)
        tlps[t].kind = isRead ? .memoryRead : .memoryWrite
        tlps[t].payload = Int32(piece.byteCount)
        tlps[t].header = flowConfig[f].header
        tlps[t].address = piece.address
        tlps[t].issued = sim.now
        tlps[t].held = -1
        tlps[t].step = flowConfig[f].requestStart
        if perDMA, startsDMA {
            flowState[f].dmaStart = flowConfig[f].launch > 0 ? flowState[f].launchBegan : sim.now
            flowState[f].launchReadyAt = -1
            flowState[f].outstanding += 1
        }
        if isRead {
            // With a transfer size a request carries its DMA's start, and the DMA's last request retires the DMA.
            let r = allocateRequest(flow: f, bytes: piece.byteCount, page: .max, now: perDMA ? flowState[f].dmaStart : sim.now)
            requests[r].endsDMA = perDMA && piece.byteCount == Int(contiguous)
            tlps[t].tag = Int32(r)
            if !perDMA { flowState[f].outstanding += 1 }
        } else if perDMA {
            // A write DMA: its TLPs carry the DMA's start; the last one (tag -2) retires the DMA when it lands.
            tlps[t].issued = flowState[f].dmaStart
            tlps[t].tag = piece.byteCount == Int(contiguous) ? Self.lastWriteOfDMA : -1
        } else {
            tlps[t].tag = -1
        }
        flowState[f].issuedBytes += piece.byteCount
        flowState[f].requestTLPs += 1
        flowState[f].queuedAtSource = true
        try advance(t, &sim)
    }

    /// Takes one of the requester's tags (PCIe Base §2.2.6.2; `outstanding-reads`), or marks the flow waiting.
    private mutating func takeTag(_ f: Int, _ requester: Int, _ sim: inout TransportEngine) throws(SchedulingError) -> Bool {
        guard engineTagsInUse[requester] < engineTagLimit[requester] else {
            if !flowState[f].waitingForTag {
                flowState[f].waitingForTag = true
                flowState[f].tagWaits += 1
                engineWaiters[requester] += 1
            }
            return false
        }
        engineTagsInUse[requester] += 1
        return true
    }

    /// The issue-rate caps: true when the engine may issue now (and books the slot), else schedules a retry. The
    /// engine-wide cap (`dma.issueRate`) spaces all TLPs; the per-direction caps (`dma.readIssueRate`,
    /// `dma.writeIssueRate`) space read requests and posted writes each on their own clock.
    private mutating func paced(_ f: Int, _ requester: Int, isRead: Bool, _ sim: inout TransportEngine) throws(SchedulingError) -> Bool {
        let interval = engineIssueInterval[requester]
        let own = engineReadInterval.isEmpty ? 0 : (isRead ? engineReadInterval[requester] : engineWriteInterval[requester])
        guard interval > 0 || own > 0 else { return true }
        let now = fine(sim.now)
        let next = engineNextIssue[requester]
        let ownNext = own > 0 ? (isRead ? engineNextRead[requester] : engineNextWrite[requester]) : 0
        let earliest = max(interval > 0 ? next : 0, ownNext)
        if earliest > now {
            flowState[f].paceWaits += 1
            flowState[f].issueScheduled = true
            try sim.schedule(.issue(Int32(f)), at: ceilPicoseconds(earliest))
            return false
        }
        // On time when the retry came at the slot's picosecond; otherwise the engine was idle.
        if interval > 0 { engineNextIssue[requester] = (now - next < finePerPicosecond ? next : now) + interval }
        if own > 0 {
            let booked = (now - ownNext < finePerPicosecond ? ownNext : now) + own
            if isRead { engineNextRead[requester] = booked } else { engineNextWrite[requester] = booked }
        }
        return true
    }

    /// The tag a posted write carries when it is the last TLP of a DMA (writes otherwise carry -1).
    static var lastWriteOfDMA: Int32 { -2 }

    /// Where the flow's next TLP starts, how many bytes from there belong to the same DMA (or stream), and whether
    /// it is a DMA's first TLP. Without a transfer size the flow streams through its working set; with one, DMA k
    /// covers `[slot(k) * S, slot(k) * S + S)` of the window, slot(k) sequential or drawn from the seed.
    @inline(__always)
    private func nextAddress(_ f: Int) -> (UInt64, UInt64, Bool) {
        let offset = UInt64(flowState[f].issuedBytes)
        let transfer = UInt64(flowConfig[f].transfer)
        if transfer > 0 {
            let k = offset / transfer
            let within = offset - k * transfer
            let slots = flowConfig[f].transferSlots
            let slot = flowConfig[f].randomSeed.map { Self.mix($0 &+ k) % slots } ?? k % slots
            let left = min(transfer - within, UInt64(flows[f].bytes) - offset)
            return (flowConfig[f].base &+ slot * transfer &+ within, left, within == 0)
        }
        let workingSet = flowConfig[f].workingSet
        let inSet = workingSet == .max ? offset : offset % workingSet
        var contiguous = UInt64(flows[f].bytes) - offset
        if workingSet != .max { contiguous = min(contiguous, workingSet - inSet) }
        return (flowConfig[f].base &+ inSet, contiguous, false)
    }

    /// SplitMix64's output function (Steele, Lea & Flood 2014): a well-mixed 64-bit value for each DMA index.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The flow's per-DMA shape and its requester's per-direction issue rates (called by buildFlow). Returns the
    /// problems found.
    mutating func configureDMAEngine(flow i: Int, requester: Int, parameters p: TransportParameters) -> [String] {
        var problems: [String] = []
        let flow = flows[i]
        if let s = flow.transferBytes {
            let window = flow.workingSetBytes ?? flow.bytes
            if s <= 0 { problems.append("transfer size \(s) must be positive") }
            else if flow.bytes % s != 0 { problems.append("bytes \(flow.bytes) are not a whole number of \(s)-byte DMAs") }
            else if window < s { problems.append("window \(window) is smaller than one \(s)-byte DMA") }
            else {
                flowConfig[i].transfer = s
                flowConfig[i].transferSlots = UInt64(window / s)
                if let launch = p.launchLatency { flowConfig[i].launch = launch }
                if case .random(let seed) = flow.access { flowConfig[i].randomSeed = seed }
            }
        }
        if p.readIssueRate != nil || p.writeIssueRate != nil {
            if engineReadInterval.isEmpty {
                let n = engineTagLimit.count
                engineReadInterval = [FineTime](repeating: 0, count: n)
                engineWriteInterval = [FineTime](repeating: 0, count: n)
                engineNextRead = [FineTime](repeating: 0, count: n)
                engineNextWrite = [FineTime](repeating: 0, count: n)
            }
            func interval(_ rate: Double) -> FineTime { FineTime((1e12 / rate * Double(finePerPicosecond)).rounded()) }
            if let r = p.readIssueRate { engineReadInterval[requester] = interval(r) }
            if let w = p.writeIssueRate { engineWriteInterval[requester] = interval(w) }
        }
        return problems
    }

    /// An ATS Translation Request (MRd with AT = 01b, PCIe Base §10.2.2) for one page; the flow waits for it.
    private mutating func sendTranslationRequest(_ f: Int, page: UInt64, _ sim: inout TransportEngine) throws(SchedulingError) {
        let t = allocateTLP()
        let pageAddress = page << UInt64(flowConfig[f].pageShift)
        tlps[t].flow = Int32(f)
        tlps[t].kind = .memoryRead
        tlps[t].payload = Int32(parameters.translationCompletionBytes)
        tlps[t].header = flowConfig[f].atsHeader
        tlps[t].address = pageAddress
        tlps[t].issued = sim.now
        tlps[t].held = -1
        tlps[t].step = flowConfig[f].atsRequestStart
        tlps[t].tag = Int32(allocateRequest(flow: f, bytes: parameters.translationCompletionBytes, page: page, now: sim.now))
        flowState[f].translationPending = true
        flowState[f].translationRequests += 1
        flowState[f].queuedAtSource = true
        try advance(t, &sim)
    }

    // MARK: ATC (fully associative, LRU)

    @inline(__always)
    func atcKey(page: UInt64, shift: Int) -> UInt64 { page << 6 | UInt64(shift) }

    mutating func atcLookup(_ requester: Int, key: UInt64) -> Bool {
        let base = atcBase[requester]
        for i in base..<(base + atcEntries[requester]) where atcKeys[i] == key {
            atcClock += 1
            atcStamps[i] = atcClock
            return true
        }
        return false
    }

    mutating func atcInsert(_ requester: Int, key: UInt64) {
        let base = atcBase[requester]
        guard base >= 0 else { return }
        var victim = base
        for i in base..<(base + atcEntries[requester]) {
            if atcKeys[i] == key { victim = i; break }
            if atcStamps[i] < atcStamps[victim] { victim = i }
        }
        atcClock += 1
        atcKeys[victim] = key
        atcStamps[victim] = atcClock
    }
}
