// The requester's DMA engine: splitting at MPS/MRRS and 4 KiB, tags and outstanding reads, issue rate, ATC.

extension TransportModel {
    /// Issues the flow's next TLP if nothing holds it back: one TLP of the flow waits in its source queue at a
    /// time (the link back-pressures the engine), reads need a free tag and room under the queue depth, the
    /// engine's issue-rate cap spaces TLPs, and with ATS the page must be in the ATC.
    mutating func issue(_ f: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        guard !flowState[f].queuedAtSource, !flowState[f].issueScheduled, flowState[f].issuedBytes < flows[f].bytes,
              sim.now >= flows[f].start else { return }
        let requester = flowConfig[f].requester
        let offset = UInt64(flowState[f].issuedBytes)
        let workingSet = flowConfig[f].workingSet
        let inSet = workingSet == .max ? offset : offset % workingSet
        let address = flowConfig[f].base &+ inSet
        var contiguous = UInt64(flows[f].bytes) - offset
        if workingSet != .max { contiguous = min(contiguous, workingSet - inSet) }

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
                    guard try paced(f, requester, &sim) else {
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
        if isRead {
            guard flowState[f].outstanding < flowConfig[f].queueDepth else { return }
            guard try takeTag(f, requester, &sim) else { return }
        }
        guard try paced(f, requester, &sim) else {
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
        if isRead {
            tlps[t].tag = Int32(allocateRequest(flow: f, bytes: piece.byteCount, page: .max, now: sim.now))
            flowState[f].outstanding += 1
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
                engineWaiters[requester] += 1
            }
            return false
        }
        engineTagsInUse[requester] += 1
        return true
    }

    /// The issue-rate cap: true when the engine may issue now (and books the slot), else schedules a retry.
    private mutating func paced(_ f: Int, _ requester: Int, _ sim: inout TransportEngine) throws(SchedulingError) -> Bool {
        let interval = engineIssueInterval[requester]
        guard interval > 0 else { return true }
        let now = fine(sim.now)
        let next = engineNextIssue[requester]
        if next > now {
            flowState[f].issueScheduled = true
            try sim.schedule(.issue(Int32(f)), at: ceilPicoseconds(next))
            return false
        }
        // On time when the retry came at the slot's picosecond; otherwise the engine was idle.
        engineNextIssue[requester] = (now - next < finePerPicosecond ? next : now) + interval
        return true
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
