// Semantic checks the schema cannot express: duplicates, dangling references and impossible values.

enum TopologyChecker {
    static func check(_ t: Topology, source: SourceMap, into bag: inout DiagnosticBag) {
        checkNames(t, source, &bag)
        checkSockets(t, source, &bag)
        checkSwitchChips(t, source, &bag)
        checkIOMMUs(t, source, &bag)
        checkRootComplexes(t, source, &bag)
        let parents = Set(t.devices.compactMap(\.parent))
        for (d, dev) in t.devices.enumerated() { checkDevice(d, dev, t, source, parents, &bag) }
    }

    static func checkNames(_ t: Topology, _ s: SourceMap, _ bag: inout DiagnosticBag) {
        var seen: [String: Int?] = [:]
        func note(_ name: String, _ line: Int?) {
            if let first = seen[name] {
                let at = first.flatMap { $0 }.map { " (first at line \($0))" } ?? ""
                bag.error(line, "duplicate name '\(name)'\(at)")
            } else {
                seen[name] = line
            }
        }
        for (i, rc) in t.rootComplexes.enumerated() { note(rc.name, s.rootComplex(i)) }
        for (i, d) in t.devices.enumerated() { note(d.name, s.device(i)) }
        var iommuNames: Set<String> = []
        for (i, u) in t.iommus.enumerated() where !iommuNames.insert(u.name).inserted {
            bag.error(s.iommus[safe: i], "duplicate IOMMU name '\(u.name)'")
        }
    }

    static func checkSockets(_ t: Topology, _ s: SourceMap, _ bag: inout DiagnosticBag) {
        var ids: Set<Int> = []
        for (i, socket) in t.sockets.enumerated() where !ids.insert(socket.id).inserted {
            bag.error(s.sockets[safe: i], "duplicate socket id \(socket.id)")
        }
        for (i, link) in t.socketLinks.enumerated() {
            let line = s.socketLinks[safe: i]
            if link.a == link.b { bag.error(line, "socket-link connects socket \(link.a) to itself") }
            for end in [link.a, link.b] where !ids.contains(end) {
                bag.error(line, "socket-link names socket \(end), which is not defined")
            }
        }
        for (i, rc) in t.rootComplexes.enumerated() where !t.sockets.isEmpty && !ids.contains(rc.socket) {
            bag.error(s.rootComplex(i), "root complex '\(rc.name)' is on socket \(rc.socket), which is not defined")
        }
    }

    /// Switch chips: unique names, each named by some switch; chip links between declared fabric-mode chips.
    static func checkSwitchChips(_ t: Topology, _ s: SourceMap, _ bag: inout DiagnosticBag) {
        var names: Set<String> = []
        for (i, c) in t.switchChips.enumerated() where !names.insert(c.name).inserted {
            bag.error(s.switchChips[safe: i], "duplicate switch-chip name '\(c.name)'")
        }
        for (i, l) in t.chipLinks.enumerated() {
            let line = s.chipLinks[safe: i]
            if l.a == l.b { bag.error(line, "chip-link connects chip '\(l.a)' to itself") }
            for end in [l.a, l.b] where !names.contains(end) {
                bag.error(line, "chip-link names chip '\(end)', which no <switch-chip> defines")
            }
            for end in [l.a, l.b] {
                if let c = t.switchChips.first(where: { $0.name == end }), c.routing != .fabric {
                    bag.error(line, "chip-link joins chip '\(end)', whose routing is partitioned: only fabric-mode chips switch traffic onto a chip link")
                }
            }
        }
        var used: Set<String> = []
        for d in t.devices { if let c = d.switchInfo?.chip { used.insert(c) } }
        for (i, c) in t.switchChips.enumerated() where !used.contains(c.name) {
            bag.error(s.switchChips[safe: i], "switch-chip '\(c.name)' is named by no switch (chip=\"\(c.name)\")")
        }
    }

    static func checkIOMMUs(_ t: Topology, _ s: SourceMap, _ bag: inout DiagnosticBag) {
        for (i, u) in t.iommus.enumerated() {
            let line = s.iommus[safe: i]
            if u.pageSizes.isEmpty { bag.error(line, "IOMMU '\(u.name)' lists no page sizes") }
            for size in u.pageSizes where size < 4096 || size & (size - 1) != 0 {
                bag.error(line, "IOMMU '\(u.name)' page size \(ByteSize.format(size)) is not a power of two of at least 4K")
            }
            if u.iotlbEntries % u.iotlbWays != 0 {
                bag.error(line, "IOMMU '\(u.name)': iotlb-entries \(u.iotlbEntries) is not a multiple of iotlb-ways \(u.iotlbWays)")
            }
        }
        for (i, rc) in t.rootComplexes.enumerated() {
            if let name = rc.iommu, !t.iommus.contains(where: { $0.name == name }) {
                bag.error(s.rootComplex(i), "root complex '\(rc.name)' names IOMMU '\(name)', which is not defined")
            }
        }
    }

    static func checkRootComplexes(_ t: Topology, _ s: SourceMap, _ bag: inout DiagnosticBag) {
        for (i, rc) in t.rootComplexes.enumerated() {
            let line = s.rootComplex(i)
            if let m = rc.mmio32, m.end > 0xFFFF_FFFF { bag.error(line, "root complex '\(rc.name)': mmio32 \(m) reaches above 4 GiB") }
            if let a = rc.mmio32, let b = rc.mmio64, a.overlaps(b) { bag.error(line, "root complex '\(rc.name)': mmio32 and mmio64 overlap") }
            if rc.p2pRateCap != nil, rc.p2pForwarding == .drop || rc.p2pForwarding == .unsupportedRequest {
                bag.warning(line, "root complex '\(rc.name)': p2p-rate-cap has no effect when p2p=\(rc.p2pForwarding.rawValue)")
            }
        }
        for (i, a) in t.rootComplexes.enumerated() {
            for b in t.rootComplexes[(i + 1)...] {
                if let x = a.mmio32, let y = b.mmio32, x.overlaps(y) { bag.error(s.rootComplex(i), "mmio32 of '\(a.name)' overlaps '\(b.name)'") }
                if let x = a.mmio64, let y = b.mmio64, x.overlaps(y) { bag.error(s.rootComplex(i), "mmio64 of '\(a.name)' overlaps '\(b.name)'") }
            }
        }
    }

    static func checkDevice(_ d: Int, _ dev: Device, _ t: Topology, _ s: SourceMap, _ parents: Set<Int>, _ bag: inout DiagnosticBag) {
        let line = s.device(d)
        let parentKind = dev.parent.map { t.devices[$0].kind }
        let conventional = parentKind == .pciBridge
        if conventional, dev.kind != .endpoint {
            bag.error(line, "'\(dev.name)': only conventional PCI endpoints can sit below a PCIe-to-PCI bridge")
        }
        if conventional || !dev.isPCIe {
            if dev.linkGeneration != nil || dev.linkWidth != nil || dev.trainedGeneration != nil || dev.trainedWidth != nil {
                bag.error(line, "'\(dev.name)' is conventional PCI and has no PCIe link: remove gen/width")
            }
            if dev.acs != nil { bag.error(line, "'\(dev.name)' is conventional PCI and cannot have an ACS capability") }
        }
        if !dev.isPCIe, dev.parent != nil, !conventional {
            bag.error(line, "'\(dev.name)' has pcie=\"false\" but sits below a PCIe port; only root-bus or conventional PCI functions can be non-PCIe")
        }
        if conventional, dev.isPCIe == true, t.devices[d].endpoint != nil {
            // Functions below a PCIe-to-PCI bridge are conventional whatever the file says.
        }
        if let acs = dev.acs {
            let extra = acs.control.subtracting(acs.capability)
            if !extra.isEmpty {
                bag.error(line, "'\(dev.name)' acs-ctrl enables \(extra.tokens), which its acs-cap does not implement")
            }
            if !acs.egressVector.isEmpty, !acs.capability.contains(.egressControl) {
                bag.error(line, "'\(dev.name)' has an egress control vector but its ACS capability lacks EC")
            }
            for port in acs.egressVector where port > 255 {
                bag.error(line, "'\(dev.name)' egress vector bit \(port) is beyond the 256-bit vector")
            }
        }
        if let tw = dev.trainedWidth, let w = dev.linkWidth, tw > w {
            bag.error(line, "'\(dev.name)' trained-width x\(tw) is wider than its width x\(w)")
        }
        if let m = dev.maxReadRequest, m > 4096 { bag.error(line, "'\(dev.name)' mrrs \(m) is above 4096") }
        if dev.kind == .switchUpstreamPort, !parents.contains(d) {
            bag.error(line, "switch '\(dev.name)' has no downstream ports")
        }
        checkBARs(d, dev.bars, owner: dev.name, s, &bag)
        for (k, bar) in dev.bars.enumerated() where dev.kind.isBridge && bar.index + (bar.is64Bit ? 1 : 0) > 1 {
            bag.error(s.bar(d, k), "BAR \(bar.index) of bridge '\(dev.name)': a type 1 (bridge) header has only BAR 0 and BAR 1")
        }
        if let ep = dev.endpoint {
            for (k, region) in ep.p2pmem.enumerated() {
                let pline = s.p2pmem[safe: d]?[safe: k] ?? line
                guard let bar = dev.bars.first(where: { $0.index == region.bar }) else {
                    bag.error(pline, "p2pmem of '\(dev.name)' names BAR \(region.bar), which '\(dev.name)' does not have")
                    continue
                }
                // pci_p2pdma_add_resource: -EINVAL when offset >= BAR length or size + offset > length.
                if region.offset >= bar.size {
                    bag.error(pline, "p2pmem of '\(dev.name)': offset \(ByteSize.format(region.offset)) is not inside BAR \(bar.index) (\(ByteSize.format(bar.size)))")
                } else if region.size + region.offset > bar.size {
                    bag.error(pline, "p2pmem of '\(dev.name)': size \(ByteSize.format(region.size)) + offset \(ByteSize.format(region.offset)) exceeds BAR \(bar.index) (\(ByteSize.format(bar.size)))")
                }
            }
            if let sriov = ep.sriov {
                if sriov.enabledVFs > sriov.totalVFs {
                    bag.error(line, "'\(dev.name)' enables \(sriov.enabledVFs) VFs but supports only \(sriov.totalVFs) (total-vfs)")
                }
                checkBARs(d, sriov.bars, owner: "\(dev.name) VF", s, &bag)
            }
            if let rate = ep.dma.maxIssueRate, rate <= 0 { bag.error(line, "'\(dev.name)' issue-rate must be positive") }
            if ep.dma.outstandingReads > DMAEngine.tagLimit(bits: ep.dma.tagBits) {
                bag.error(line, "'\(dev.name)' outstanding-reads \(ep.dma.outstandingReads) exceeds the \(DMAEngine.tagLimit(bits: ep.dma.tagBits)) tags of \(ep.dma.tagBits)-bit tags")
            }
        }
    }

    static func checkBARs(_ d: Int, _ bars: [BAR], owner: String, _ s: SourceMap, _ bag: inout DiagnosticBag) {
        var used: [Int: Int] = [:]   // register -> BAR index using it
        for (k, bar) in bars.enumerated() {
            let line = s.bar(d, k)
            // A topology built in code (generator, importers) skips the schema's 0-5 bound: check it here too, and
            // go no further with an index whose `index + 1` could overflow.
            guard (0...5).contains(bar.index) else {
                bag.error(line, "BAR index \(bar.index) of '\(owner)' is out of range (0 to 5)")
                continue
            }
            if bar.is64Bit, bar.index == 5 { bag.error(line, "64-bit BAR 5 of '\(owner)' needs two registers; there is no BAR 6") }
            if bar.size < 16 || bar.size & (bar.size - 1) != 0 {
                bag.error(line, "BAR \(bar.index) of '\(owner)' size \(ByteSize.format(bar.size)) is not a power of two of at least 16 bytes")
            }
            if !bar.is64Bit, bar.size > (1 << 31) {
                bag.error(line, "32-bit BAR \(bar.index) of '\(owner)' cannot be \(ByteSize.format(bar.size)) (at most 2G)")
            }
            for register in bar.is64Bit ? [bar.index, bar.index + 1] : [bar.index] {
                if let other = used[register] {
                    bag.error(line, other == bar.index ? "duplicate BAR \(bar.index) in '\(owner)'"
                        : "BAR \(bar.index) of '\(owner)' overlaps the registers of 64-bit BAR \(other)")
                    break
                }
                used[register] = bar.index
            }
        }
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { i >= 0 && i < count ? self[i] : nil }
}
