// Moving a TLP along its precomputed path: servers, delays, destinations, completions, blocking.

extension TransportModel {
    // MARK: TLP slots

    mutating func allocateTLP() -> Int {
        tlpLive += 1
        if tlpLive > tlpPeak { tlpPeak = tlpLive }
        if tlpFree >= 0 {
            let t = Int(tlpFree)
            tlpFree = tlps[t].next
            return t
        }
        tlps.append(TLPSlot())
        return tlps.count - 1
    }

    mutating func freeTLP(_ t: Int) {
        tlpLive -= 1
        tlps[t].next = tlpFree
        tlpFree = Int32(t)
    }

    mutating func allocateRequest(flow f: Int, bytes: Int, page: UInt64, now: Picoseconds) -> Int {
        let r: Int
        if requestFree >= 0 {
            r = Int(requestFree)
            requestFree = requests[r].flow
        } else {
            r = requests.count
            requests.append(RequestRecord(flow: 0, remaining: 0, issued: 0, page: 0))
        }
        requests[r].flow = Int32(f)
        requests[r].remaining = Int32(bytes)
        requests[r].issued = now
        requests[r].page = page
        requests[r].endsDMA = false
        return r
    }

    // MARK: The path interpreter

    /// Runs `t` through its steps until it waits (queue, server, delay, walk) or ends.
    mutating func advance(_ t: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        while true {
            let s = Int(tlps[t].step)
            let step = steps[s]
            switch step.kind {
            case .link:
                try enqueue(t, queue: Int(step.b), direction: Int(step.a), &sim)
                return
            case .cutThrough:
                tlps[t].step = Int32(s + 1)
            case .delay:
                tlps[t].step = Int32(s + 1)
                try sim.schedule(.arrive(Int32(t)), after: step.latency)
                return
            case .server:
                try enterServer(Int(step.a), t, &sim)
                return
            case .translate:
                guard try translate(t, unit: Int(step.a), &sim) else { return }
                tlps[t].step = Int32(s + 1)
            case .accept:
                let held = Int(tlps[t].held)
                if held >= 0 { try releaseBuffer(of: t, at: held, &sim) }
                if tlps[t].kind == .memoryWrite {
                    let f = Int(tlps[t].flow)
                    let endsDMA = tlps[t].tag == Self.lastWriteOfDMA
                    // Per TLP; with a transfer size, per DMA (its first TLP issued to its last byte landed).
                    if flowConfig[f].transfer == 0 || endsDMA { flowLatency[f].record(sim.now - tlps[t].issued) }
                    delivered(f, Int(tlps[t].payload), sim.now)
                    freeTLP(t)
                    if endsDMA { try retireWriteDMA(f, &sim) }
                    return
                }
                tlps[t].step = Int32(s + 1)
            case .complete:
                try complete(t, pathStart: Int(step.a), &sim)
                return
            case .receive:
                try receive(t, &sim)
                return
            case .blocked:
                try block(t, point: Int(step.a), &sim)
                return
            }
        }
    }

    // MARK: Rate servers

    mutating func enterServer(_ s: Int, _ t: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        tlps[t].next = -1
        let tail = Int(serverTail[s])
        if tail < 0 { serverHead[s] = Int32(t) } else { tlps[tail].next = Int32(t) }
        serverTail[s] = Int32(t)
        if !serverBusy[s] { try serveNext(s, continuing: false, &sim) }
    }

    private mutating func serveNext(_ s: Int, continuing: Bool, _ sim: inout TransportEngine) throws(SchedulingError) {
        let t = Int(serverHead[s])
        guard t >= 0 else {
            serverBusy[s] = false
            return
        }
        let kind = tlps[t].kind
        let bytes = kind.carriesData || (kind == .memoryRead && serverChargesReads[s]) ? Int(tlps[t].payload) : 0
        let start = continuing ? serverFreeAt[s] : max(serverFreeAt[s], fine(sim.now))
        let end = start + FineTime(bytes) * serverByteTime[s]
        serverFreeAt[s] = end
        serverBusyTime[s] += end - start
        serverPayload[s] += bytes
        serverBusy[s] = true
        try sim.schedule(.serverDone(Int32(s)), at: ceilPicoseconds(end))
    }

    mutating func serverDone(_ s: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        let t = Int(serverHead[s])
        serverHead[s] = tlps[t].next
        if serverHead[s] < 0 { serverTail[s] = -1 }
        try serveNext(s, continuing: true, &sim)
        tlps[t].step += 1
        try advance(t, &sim)
    }

    // MARK: Destinations

    /// The completer answers a read: completions split at MPS or RCB (PCIe Base §2.3.1.1, reference §1.4), all
    /// put in the completer's output queue at once.
    private mutating func complete(_ t: Int, pathStart: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        let f = Int(tlps[t].flow)
        let tag = tlps[t].tag
        let address = tlps[t].address
        let length = Int(tlps[t].payload)
        freeTLP(t)
        guard pathStart >= 0 else { return }
        var chunks = TLPWireSplit.completions(requestAddress: address, requestLengthBytes: length,
                                              maxPayloadSizeBytes: flowConfig[f].completionMPS,
                                              readCompletionBoundaryBytes: flowConfig[f].rcb,
                                              size: flowConfig[f].completionSize).makeIterator()
        while let chunk = chunks.next() {
            let c = allocateTLP()
            tlps[c].flow = Int32(f)
            tlps[c].step = Int32(pathStart)
            tlps[c].kind = .completionWithData
            tlps[c].payload = Int32(chunk.byteCount)
            tlps[c].header = flowConfig[f].completionHeader
            tlps[c].address = chunk.address
            tlps[c].tag = tag
            tlps[c].issued = sim.now
            tlps[c].held = -1
            try advance(c, &sim)
        }
    }

    /// A completion reaches its requester.
    private mutating func receive(_ t: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        let held = Int(tlps[t].held)
        if held >= 0 { try releaseBuffer(of: t, at: held, &sim) }
        let f = Int(tlps[t].flow)
        let r = Int(tlps[t].tag)
        let bytes = Int(tlps[t].payload)
        freeTLP(t)
        requests[r].remaining -= Int32(bytes)
        let page = requests[r].page
        if page != .max {
            guard requests[r].remaining <= 0 else { return }
            atcInsert(flowConfig[f].requester, key: atcKey(page: page, shift: flowConfig[f].pageShift))
            flowState[f].translationPending = false
            flowState[f].atcPage = page
            try releaseRequest(r, flow: f, isData: false, &sim)
            return
        }
        delivered(f, bytes, sim.now)
        if requests[r].remaining <= 0 {
            // Per request; with a transfer size, per DMA (its first request issued to its last completion back).
            if flowConfig[f].transfer == 0 || requests[r].endsDMA { flowLatency[f].record(sim.now - requests[r].issued) }
            try releaseRequest(r, flow: f, isData: true, &sim)
        }
    }

    /// Bytes arrived for a flow.
    mutating func delivered(_ f: Int, _ bytes: Int, _ now: Picoseconds) {
        flowState[f].delivered += bytes
        if flowState[f].firstDelivery == nil { flowState[f].firstDelivery = now }
        if flowState[f].firstDelivery == now { flowState[f].firstDeliveryBytes += bytes }
        flowState[f].lastDelivery = now
        finishIfDone(f, now)
    }

    mutating func finishIfDone(_ f: Int, _ now: Picoseconds) {
        if flowState[f].completion == nil, flowState[f].delivered + flowState[f].blockedBytes >= flows[f].bytes {
            flowState[f].completion = now
            unfinishedFlows -= 1
        }
    }

    /// A tag comes back: the engine may issue again, and so may the other flows of the requester waiting for tags.
    mutating func releaseRequest(_ r: Int, flow f: Int, isData: Bool, _ sim: inout TransportEngine) throws(SchedulingError) {
        requests[r].flow = requestFree
        requestFree = Int32(r)
        let requester = flowConfig[f].requester
        engineTagsInUse[requester] -= 1
        if isData, flowConfig[f].transfer == 0 || requests[r].endsDMA { flowState[f].outstanding -= 1 }
        try issue(f, &sim)
        if engineWaiters[requester] > 0 {
            for g in engineFlows[requester] where flowState[Int(g)].waitingForTag {
                flowState[Int(g)].waitingForTag = false
                engineWaiters[requester] -= 1
                try issue(Int(g), &sim)
            }
        }
    }

    /// A write DMA's last byte landed (or was blocked): one fewer in flight, so the engine may start the next.
    mutating func retireWriteDMA(_ f: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        flowState[f].outstanding -= 1
        try issue(f, &sim)
    }

    /// The TLP stops here (the router's verdict, or an IOMMU fault): recorded, its buffer freed; a blocked read
    /// gives its tag back as an Unsupported Request completion would.
    mutating func block(_ t: Int, point: Int, _ sim: inout TransportEngine) throws(SchedulingError) {
        let held = Int(tlps[t].held)
        if held >= 0 { try releaseBuffer(of: t, at: held, &sim) }
        let f = Int(tlps[t].flow)
        blockCount[point] += 1
        if blockedRecords.count < parameters.blockedRecordLimit {
            blockedRecords.append(TransportResult.BlockedTLP(time: sim.now, flow: f, kind: tlps[t].kind, address: tlps[t].address,
                                                             location: blockLocation[point], reason: blockReason[point]))
        }
        let kind = tlps[t].kind
        let bytes = Int(tlps[t].payload)
        let r = Int(tlps[t].tag)
        freeTLP(t)
        flowState[f].blockedTLPs += 1
        switch kind {
        case .memoryWrite:
            flowState[f].blockedBytes += bytes
            if r == Int(Self.lastWriteOfDMA) {
                finishIfDone(f, sim.now)
                try retireWriteDMA(f, &sim)
                return
            }
        case .memoryRead where requests[r].page != .max:
            // No translation: nothing more of the flow can go.
            flowState[f].blockedBytes += flows[f].bytes - flowState[f].issuedBytes
            flowState[f].issuedBytes = flows[f].bytes
            flowState[f].translationPending = false
            try releaseRequest(r, flow: f, isData: false, &sim)
        case .memoryRead:
            flowState[f].blockedBytes += bytes
            try releaseRequest(r, flow: f, isData: true, &sim)
        case .completion, .completionWithData:
            flowState[f].blockedBytes += bytes
            requests[r].remaining -= Int32(bytes)
            if requests[r].remaining <= 0 { try releaseRequest(r, flow: f, isData: true, &sim) }
        }
        finishIfDone(f, sim.now)
    }
}
