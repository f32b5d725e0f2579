// The IOMMU at the root complex: a set-associative LRU IOTLB, page walks with a bounded number in flight, faults.

extension TransportModel {
    @inline(__always)
    func iotlbKey(_ f: Int, _ t: Int) -> (key: UInt64, page: UInt64) {
        let page = tlps[t].address >> UInt64(flowConfig[f].pageShift)
        return (UInt64(flowConfig[f].requester) << 48 ^ page << 6 ^ UInt64(flowConfig[f].pageShift), page)
    }

    /// IOTLB lookup (LRU update on a hit). Entries are tagged with the requester (its domain) and the page size.
    mutating func iotlbLookup(_ u: Int, key: UInt64, page: UInt64) -> Bool {
        let ways = iommuWays[u]
        let base = iotlbBase[u] + Int(page % UInt64(iommuSets[u])) * ways
        for i in base..<(base + ways) where iotlbKeys[i] == key {
            iotlbClock += 1
            iotlbStamps[i] = iotlbClock
            return true
        }
        return false
    }

    mutating func iotlbInsert(_ u: Int, key: UInt64, page: UInt64) {
        let ways = iommuWays[u]
        let base = iotlbBase[u] + Int(page % UInt64(iommuSets[u])) * ways
        var victim = base
        for i in base..<(base + ways) {
            if iotlbKeys[i] == key { victim = i; break }
            if iotlbStamps[i] < iotlbStamps[victim] { victim = i }
        }
        iotlbClock += 1
        iotlbKeys[victim] = key
        iotlbStamps[victim] = iotlbClock
    }

    /// Translates `t` at unit `u`: true when it may go on now.
    ///
    /// Lookups are pipelined: a miss starts a walk (or joins the walk of the same page, or waits for a free walker)
    /// and later TLPs keep being looked up, so up to `walks-in-flight` walks overlap (miss-under-miss). A flow's
    /// TLPs leave the IOMMU in order (a posted write may not pass an earlier one, PCIe Base §2.4.1): a hit behind a
    /// miss of the same flow waits for it. The waiting TLPs hold the root port's receive buffer, so a slow IOMMU
    /// back-pressures the link. A TLP that finds its page's walk in progress counts as a miss but starts no walk.
    mutating func translate(_ t: Int, unit u: Int, _ sim: inout TransportEngine) throws(SchedulingError) -> Bool {
        let f = Int(tlps[t].flow)
        iommuLookups[u] += 1
        let (key, page) = iotlbKey(f, t)
        let hit = iotlbLookup(u, key: key, page: page)
        if hit {
            iommuHits[u] += 1
            if flowState[f].translateHead < 0 { return true }
        }
        tlps[t].next = -1
        let tail = Int(flowState[f].translateTail)
        if tail < 0 { flowState[f].translateHead = Int32(t) } else { tlps[tail].next = Int32(t) }
        flowState[f].translateTail = Int32(t)
        tlps[t].walk = -1
        if !hit { try requestWalk(u, t, key: key, &sim) }
        return false
    }

    /// Joins a walk of the same page, starts one on a free walker, or queues for a walker.
    private mutating func requestWalk(_ u: Int, _ t: Int, key: UInt64, _ sim: inout TransportEngine) throws(SchedulingError) {
        let base = iommuWalkerBase[u]
        var free = -1
        for w in base..<(base + iommuWalkerCount[u]) {
            if walkerBusy[w] {
                if walkerKey[w] == key { tlps[t].walk = Int32(w); return }
            } else if free < 0 {
                free = w
            }
        }
        guard free >= 0 else {
            tlps[t].walk = -2
            tlps[t].nextWaiting = -1
            let tail = Int(iommuWaitTail[u])
            if tail < 0 { iommuWaitHead[u] = Int32(t) } else { tlps[tail].nextWaiting = Int32(t) }
            iommuWaitTail[u] = Int32(t)
            return
        }
        let w = free
        let f = Int(tlps[t].flow)
        let shift = flowConfig[f].pageShift
        walkerBusy[w] = true
        walkerKey[w] = key
        walkerAddress[w] = (tlps[t].address >> UInt64(shift)) << UInt64(shift)
        walkerRequester[w] = flowConfig[f].requester
        walkerIsWrite[w] = tlps[t].kind == .memoryWrite
        tlps[t].walk = Int32(w)
        iommuWalks[u] += 1
        iommuInFlight[u] += 1
        iommuMaxInFlight[u] = max(iommuMaxInFlight[u], iommuInFlight[u])
        // A 2 MiB leaf ends the walk one level early, a 1 GiB leaf two (9 bits of IOVA per level above 4 KiB).
        let levels = max(1, iommuWalkLevels[u] - max(0, shift - 12) / 9)
        iommuWalkTime[u] += Picoseconds(levels) * iommuWalkLatency[u]
        try sim.schedule(.walkDone(Int32(w)), after: Picoseconds(levels) * iommuWalkLatency[u])
    }

    /// A walk ended: the entry enters the IOTLB (or the page faults), the TLPs it held are ready, queued misses get
    /// the free walker, and each flow's ready TLPs leave in order.
    mutating func walkDone(_ w: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        let u = walkerUnit[w]
        walkerBusy[w] = false
        iommuInFlight[u] -= 1
        let key = walkerKey[w]
        var outcome: Int32 = -1
        switch translate(walkerRequester[w], walkerAddress[w], walkerIsWrite[w]) {
        case .fault(let why):
            iommuFaults[u] += 1
            outcome = Int32(-3 - blockPoint(iommuLocation[u], .iommuFault(why)))
        default:
            let shift = Int(key & 63)
            iotlbInsert(u, key: key, page: walkerAddress[w] >> UInt64(shift))
        }
        let flows = iommuFlows[u]
        for g in flows {
            var i = Int(flowState[Int(g)].translateHead)
            while i >= 0 {
                if tlps[i].walk == Int32(w) { tlps[i].walk = outcome }
                i = Int(tlps[i].next)
            }
        }
        while iommuWaitHead[u] >= 0, iommuInFlight[u] < iommuWalkerCount[u] {
            let t = Int(iommuWaitHead[u])
            iommuWaitHead[u] = tlps[t].nextWaiting
            if iommuWaitHead[u] < 0 { iommuWaitTail[u] = -1 }
            let (k, page) = iotlbKey(Int(tlps[t].flow), t)
            if iotlbLookup(u, key: k, page: page) { tlps[t].walk = -1 } else { try requestWalk(u, t, key: k, &sim) }
        }
        for g in flows { try drainTranslations(Int(g), &sim) }
    }

    /// Lets a flow's translated TLPs go, oldest first, up to the first still waiting.
    private mutating func drainTranslations(_ f: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        while flowState[f].translateHead >= 0 {
            let t = Int(flowState[f].translateHead)
            let state = tlps[t].walk
            guard state == -1 || state <= -3 else { return }
            flowState[f].translateHead = tlps[t].next
            if flowState[f].translateHead < 0 { flowState[f].translateTail = -1 }
            if state <= -3 {
                try block(t, point: Int(-3 - state), &sim)
            } else {
                tlps[t].step += 1
                try advance(t, &sim)
            }
        }
    }
}
