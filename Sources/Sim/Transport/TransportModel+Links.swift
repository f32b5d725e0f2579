// Link directions: output queues with round-robin arbitration, credit-gated transmission, TLP serialization,
// explicit Ack/UpdateFC DLLPs, SKP ordered sets, and credit return.

typealias TransportEngine = Simulator<TransportEvent>

extension TransportModel {
    @inline(__always)
    func creditClass(_ kind: TLPKind) -> Int {
        switch kind {
        case .memoryWrite: CreditClass.posted.rawValue
        case .memoryRead: CreditClass.nonPosted.rawValue
        case .completion, .completionWithData: CreditClass.completion.rawValue
        }
    }

    @inline(__always)
    func dataCredits(_ t: Int) -> Int { tlps[t].kind.carriesData ? (Int(tlps[t].payload) + 15) >> 4 : 0 }

    @inline(__always)
    func wireBytes(_ t: Int, on d: Int) -> Int {
        linkConfig[d].framing + Int(tlps[t].header) + (tlps[t].kind.carriesData ? Int(tlps[t].payload) : 0)
    }

    // MARK: Output queues

    mutating func enqueue(_ t: Int, queue q: Int, direction d: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        let i = q * 3 + creditClass(tlps[t].kind)
        tlps[t].next = -1
        let tail = Int(queues[i].tail)
        if tail < 0 { queues[i].head = Int32(t) } else { tlps[tail].next = Int32(t) }
        queues[i].tail = Int32(t)
        let now = sim.now
        var link = links[d]
        link.queueArea += Double(link.queued) * Double(now - link.queueChanged)
        link.queueChanged = now
        link.queued += 1
        if link.queued > link.queueMax { link.queueMax = link.queued }
        links[d] = link
        if !link.busy { try startNext(d, continuing: false, &sim) }
    }

    @inline(__always)
    func hasCredits(_ d: Int, _ c: Int, _ t: Int) -> Bool {
        let i = d * 3 + c
        if credits[i].limitHeader >= 0, credits[i].header < 1 { return false }
        if credits[i].limitData >= 0, credits[i].data < dataCredits(t) { return false }
        return true
    }

    /// Picks the next TLP for an idle direction: ingress slots round-robin (switch arbitration between ingress
    /// ports, and between the flows of one engine); within a slot posted first, then completions, then
    /// non-posted (posted requests may pass the others, PCIe Base §2.4.1), each only with the receiver's credits.
    /// `continuing`: called as the previous TLP ended, so the next one starts exactly at its end.
    mutating func startNext(_ d: Int, continuing: Bool, _ sim: inout TransportEngine) throws(SchedulingError) {
        guard !links[d].busy, links[d].queued > 0 else { return }
        let slots = linkConfig[d].queueSlots
        let base = linkConfig[d].queueBase
        var s = links[d].roundRobin
        for _ in 0..<slots {
            let q = base + s
            for k in 0..<3 {
                let c = k == 0 ? 0 : (k == 1 ? 2 : 1)
                let head = Int(queues[q * 3 + c].head)
                if head >= 0, hasCredits(d, c, head) {
                    links[d].roundRobin = s + 1 == slots ? 0 : s + 1
                    try transmit(head, from: q, classIndex: c, on: d, continuing: continuing, &sim)
                    return
                }
            }
            s = s + 1 == slots ? 0 : s + 1
        }
        if links[d].stallSince < 0 { links[d].stallSince = sim.now }
    }

    private mutating func transmit(_ t: Int, from q: Int, classIndex c: Int, on d: Int, continuing: Bool,
                                   _ sim: inout TransportEngine) throws(SchedulingError) {
        let i = q * 3 + c
        queues[i].head = tlps[t].next
        if queues[i].head < 0 { queues[i].tail = -1 }
        let ci = d * 3 + c
        if credits[ci].limitHeader >= 0 { credits[ci].header -= 1 }
        if credits[ci].limitData >= 0 { credits[ci].data -= dataCredits(t) }
        let config = linkConfig[d]
        let now = sim.now
        // One read and one write of the direction's state (one uniqueness check instead of one per field).
        var link = links[d]
        link.queueArea += Double(link.queued) * Double(now - link.queueChanged)
        link.queueChanged = now
        link.queued -= 1
        if link.stallSince >= 0 {
            link.stallTime += now - link.stallSince
            link.stallSince = -1
        }
        let freeAt = link.freeAt
        var start = continuing ? freeAt : max(freeAt, fine(now))
        // DLLPs charged while the previous TLP was on the wire go out at its end (a packet boundary).
        start += link.pendingOverhead
        link.pendingOverhead = 0
        // SKP ordered sets due by now: at the packet boundary when the link was busy, else in the idle time.
        let interval = config.skpInterval
        if interval > 0, link.nextSKP <= start {
            var next = link.nextSKP
            let skp = config.skpTime
            if next >= freeAt, start - next > 4 * interval {
                let skipped = (start - next) / interval - 1
                next += skipped * interval
                link.skps += Int(skipped)
                link.busyTime += skipped * skp
            }
            while next <= start {
                if next < freeAt { start += skp } else if next + skp > start { start = next + skp }
                link.skps += 1
                link.busyTime += skp
                next += interval
            }
            link.nextSKP = next
        }
        let slot = tlps[t]
        let carriesData = slot.kind.carriesData
        let bytes = config.framing + Int(slot.header) + (carriesData ? Int(slot.payload) : 0)
        let duration = FineTime(bytes) * config.byteTime
        let end = start + duration
        link.freeAt = end
        link.busy = true
        link.current = Int32(t)
        link.currentDuration = duration
        link.busyTime += duration
        link.tlps += 1
        link.wire += bytes
        if carriesData { link.payload += Int(slot.payload) }
        links[d] = link
        try sim.schedule(.transmitted(Int32(d)), at: ceilPicoseconds(end))
        let owner = Int(queueOwnerFlow[q])
        if owner >= 0 {
            flowState[owner].queuedAtSource = false
            try issue(owner, &sim)
        }
    }

    /// The TLP on `d` is fully sent: the previous hop's buffer frees, the receiver holds it and will Ack it; it
    /// lands after the link latency (and, at a switch, its cut-through latency).
    mutating func transmitted(_ d: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        var link = links[d]
        let t = Int(link.current)
        let end = link.freeAt
        let inDuration = link.currentDuration
        link.busy = false
        link.current = -1
        link.receivedSinceTick += 1
        let startTick = !link.tickActive
        link.tickActive = true
        links[d] = link
        if startTick { try sim.schedule(.flowControlTick(Int32(d)), after: linkConfig[d].ackInterval) }
        let held = Int(tlps[t].held)
        if held >= 0 { try releaseBuffer(of: t, at: held, &sim) }
        var step = Int(tlps[t].step) + 1
        var delay = fine(linkConfig[d].latency)
        if steps[step].kind == .cutThrough {
            // Cut-through: the first byte leaves `latency` after it arrived; the egress cannot finish before the
            // ingress does, so a faster egress starts later (PCIe switch port-to-port latency, reference §4).
            let latency = fine(steps[step].latency)
            step += 1
            let egress = Int(steps[step].a)
            let outDuration = FineTime(wireBytes(t, on: egress)) * linkConfig[egress].byteTime
            delay += max(0, latency - min(inDuration, outDuration))
        }
        tlps[t].held = Int32(d)
        tlps[t].step = Int32(step)
        if link.queued > 0 { try startNext(d, continuing: true, &sim) }
        if delay == 0 {
            try advance(t, &sim)
        } else {
            try sim.schedule(.arrive(Int32(t)), at: ceilPicoseconds(end + delay))
        }
    }

    // MARK: Flow control

    /// The TLP leaves the receive buffer of direction `d`: its credits go back on the next UpdateFC.
    mutating func releaseBuffer(of t: Int, at d: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        let i = d * 3 + creditClass(tlps[t].kind)
        if credits[i].limitHeader >= 0 { credits[i].freedHeader += 1 }
        if credits[i].limitData >= 0 { credits[i].freedData += dataCredits(t) }
        links[d].updatePending = true
        tlps[t].held = -1
        try ensureTick(d, &sim)
    }

    @inline(__always)
    mutating func ensureTick(_ d: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        guard !links[d].tickActive else { return }
        links[d].tickActive = true
        try sim.schedule(.flowControlTick(Int32(d)), after: linkConfig[d].ackInterval)
    }

    /// One coalescing interval of direction `d`: an Ack if it received TLPs, an UpdateFC if its receiver freed
    /// buffer (for infinite-credit classes too, as pcie-bench charges one per interval; PCIe Base §2.6.1.2 makes
    /// them optional there). Their wire time is charged to `linkChargeTarget` (``DLLPChargeDirection``).
    mutating func tick(_ d: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        var dllps = 0
        if links[d].receivedSinceTick > 0 {
            dllps += 1
            links[d].receivedSinceTick = 0
        }
        if links[d].updatePending {
            dllps += 1
            links[d].updatePending = false
            for c in 0..<3 {
                let i = d * 3 + c
                credits[i].returningHeader += credits[i].freedHeader
                credits[i].returningData += credits[i].freedData
                credits[i].freedHeader = 0
                credits[i].freedData = 0
            }
            // The UpdateFC crosses the link latency; its own 8-byte serialization (under a nanosecond) is not added,
            // so with no link latency the credits apply at once, without an event.
            let flight = linkConfig[d].latency
            if flight == 0 { try applyCredits(d, &sim) } else { try sim.schedule(.creditUpdate(Int32(d)), after: flight) }
        }
        guard dllps > 0 else {
            links[d].tickActive = false
            return
        }
        let target = linkConfig[d].chargeTarget
        let time = FineTime(dllps) * linkConfig[target].dllpTime
        if time > 0 {
            links[target].dllps += dllps
            links[target].busyTime += time
            if links[target].busy {
                links[target].pendingOverhead += time
            } else {
                links[target].freeAt = max(links[target].freeAt, fine(sim.now)) + time
            }
        }
        try sim.schedule(.flowControlTick(Int32(d)), after: linkConfig[d].ackInterval)
    }

    /// An UpdateFC reached the transmitter of `d`.
    mutating func applyCredits(_ d: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        for c in 0..<3 {
            let i = d * 3 + c
            credits[i].header += credits[i].returningHeader
            credits[i].data += credits[i].returningData
            credits[i].returningHeader = 0
            credits[i].returningData = 0
        }
        if !links[d].busy, links[d].queued > 0 { try startNext(d, continuing: false, &sim) }
    }
}
