// Writes a Topology as topology XML that reads back to the identical value: read(write(t)) == t.

public enum TopologyWriter {
    /// Canonical topology XML: only what differs from the schema defaults and from inheritance is written.
    public static func write(_ t: Topology, comment: String? = nil) -> String {
        var x = XMLBuilder()
        if let comment { x.comment(comment) }
        x.open("topology", [("name", t.name), ("version", "1")])
        if let d = t.description { x.textElement("description", [], d) }
        if t.kernel != KernelConfiguration() {
            x.empty("kernel", [("cmdline", t.kernel.commandLine.isEmpty ? nil : t.kernel.commandLine),
                               ("version", t.kernel.version == .mainline ? nil : t.kernel.version.rawValue)])
        }
        for s in t.sockets {
            x.empty("socket", [("id", String(s.id)), ("cpu-vendor", s.cpuVendor.rawValue),
                               ("cpu-family", s.cpuFamily == 0 ? nil : "0x" + hex(s.cpuFamily, 2)),
                               ("cpu-model", s.cpuModel.map { "0x" + hex($0, 2) }),
                               ("memory-latency", s.memoryLatency.map(Duration.format))])
        }
        for l in t.socketLinks {
            x.empty("socket-link", [("a", String(l.a)), ("b", String(l.b)), ("kind", l.kind == .other ? nil : l.kind.rawValue),
                                    ("bandwidth", l.bandwidth?.exactText), ("duplex-share", l.duplexShare.map { String($0) }),
                                    ("latency", Duration.format(l.latency))])
        }
        for c in t.switchChips {
            x.empty("switch-chip", [("name", c.name), ("routing", c.routing == .partitioned ? nil : c.routing.rawValue),
                                    ("latency", c.latency.map(Duration.format)), ("bandwidth", c.bandwidth?.exactText)])
        }
        for l in t.chipLinks {
            x.empty("chip-link", [("a", l.a), ("b", l.b), ("gen", String(l.generation.rawValue)), ("width", String(l.width)),
                                  ("latency", l.latency == 0 ? nil : Duration.format(l.latency))])
        }
        let defaults = IOMMUUnit(name: "", kind: .none, mode: .dma)
        for u in t.iommus {
            x.empty("iommu", [
                ("name", u.name), ("kind", u.kind.rawValue), ("mode", u.mode == .dma ? nil : u.mode.rawValue),
                ("iotlb-entries", u.iotlbEntries == defaults.iotlbEntries ? nil : String(u.iotlbEntries)),
                ("iotlb-ways", u.iotlbWays == defaults.iotlbWays ? nil : String(u.iotlbWays)),
                ("page-sizes", u.pageSizes == defaults.pageSizes ? nil : u.pageSizes.map(ByteSize.format).joined(separator: " ")),
                ("walk-levels", u.walkLevels == defaults.walkLevels ? nil : String(u.walkLevels)),
                ("walk-latency", u.walkLatencyPerLevel.map(Duration.format)),
                ("walks-in-flight", u.walksInFlight.map(String.init)),
            ])
        }
        let (children, rootBus) = t.childrenIndex()
        for (r, rc) in t.rootComplexes.enumerated() {
            let attrs: [(String, String?)] = [
                ("name", rc.name), ("socket", rc.socket == 0 ? nil : String(rc.socket)),
                ("segment", rc.segment == 0 ? nil : "0x" + hex(rc.segment, 4)),
                ("bus", rc.rootBus.map { "0x" + hex($0, 2) }), ("bus-limit", rc.busLimit.map { "0x" + hex($0, 2) }),
                ("host-bridge", rc.hostBridgeID?.description), ("iommu", rc.iommu),
                ("p2p", rc.p2pForwarding == .forward ? nil : rc.p2pForwarding.rawValue),
                ("p2p-rate-cap", rc.p2pRateCap?.exactText),
                ("p2p-duplex-share", rc.p2pDuplexShare.map { String($0) }), ("p2p-latency", rc.p2pLatency.map(Duration.format)),
                ("dma-cap", rc.dmaCap?.exactText), ("mmio32", rc.mmio32.map(rangeText)), ("mmio64", rc.mmio64.map(rangeText)),
                ("gen", rc.defaultLink.generation == .gen4 ? nil : String(rc.defaultLink.generation.rawValue)),
                ("width", rc.defaultLink.width == 16 ? nil : String(rc.defaultLink.width)),
            ]
            if rootBus[r].isEmpty && rc.parameters.isEmpty {
                x.empty("root-complex", attrs)
                continue
            }
            x.open("root-complex", attrs)
            params(rc.parameters, &x)
            var ordinals = Ordinals()
            for d in rootBus[r] { device(d, t, children, parentName: rc.name, ordinals: &ordinals, &x) }
            x.close("root-complex")
        }
        gpuLinks(t.gpuLinks, &x)
        x.close("topology")
        return x.text
    }

    struct Ordinals {
        var ports = 0
        var bridges = 0
    }

    static func rangeText(_ r: AddressRange) -> String { "0x" + hex(r.start, 1) + "-0x" + hex(r.end, 1) }

    /// `<gpu-link>` elements, after the root complexes (GPUFabric.swift).
    static func gpuLinks(_ links: [GPULink], _ x: inout XMLBuilder) {
        for l in links {
            x.empty("gpu-link", [("kind", l.kind.rawValue), ("a", l.a), ("b", l.b), ("switch", l.fabricSwitch),
                                 ("count", String(l.count)), ("target-class", l.targetClass)])
        }
    }

    static func params(_ ps: [Parameter], _ x: inout XMLBuilder) {
        for p in ps { x.empty("param", [("name", p.name), ("value", p.value)]) }
    }

    static func device(_ d: Int, _ t: Topology, _ children: [[Int]], parentName: String, ordinals: inout Ordinals, _ x: inout XMLBuilder) {
        let dev = t.devices[d]
        let element: String
        switch dev.kind {
        case .rootPort: element = "root-port"
        case .switchDownstreamPort: element = "downstream-port"
        case .switchUpstreamPort: element = "switch"
        case .pciBridge: element = "pci-bridge"
        case .endpoint: element = "endpoint"
        }
        let ordinal = dev.kind == .pciBridge ? ordinals.bridges : ordinals.ports
        if dev.kind == .pciBridge { ordinals.bridges += 1 } else if dev.kind != .endpoint { ordinals.ports += 1 }
        let generated = TopologyNaming.defaultName(kind: dev.kind, parentName: parentName, ordinal: ordinal)
        let nameIsDefault = dev.name == generated && dev.kind != .endpoint && dev.kind != .switchUpstreamPort
        let inheritsID = dev.kind == .switchDownstreamPort && dev.parent.map { t.devices[$0].id == dev.id } == true
        var a: [(String, String?)] = [("name", nameIsDefault ? nil : dev.name)]
        if let ep = dev.endpoint { a.append(("class", ep.endpointClass == .generic ? nil : ep.endpointClass.rawValue)) }
        a += [
            ("id", inheritsID ? nil : dev.id.description), ("subsystem", dev.subsystemID?.description),
            ("class-code", dev.classCode.map { "0x" + hex($0, 6) }),
            ("device", dev.deviceNumber.map { String($0) }), ("function", dev.functionNumber.map { String($0) }),
            ("gen", dev.linkGeneration.map { String($0.rawValue) }), ("width", dev.linkWidth.map(String.init)),
            ("trained-gen", dev.trainedGeneration.map { String($0.rawValue) }), ("trained-width", dev.trainedWidth.map(String.init)),
            ("mps", dev.maxPayloadSupported.map(String.init)), ("mrrs", dev.maxReadRequest.map(String.init)),
            ("rcb", dev.readCompletionBoundary.map(String.init)),
        ]
        if dev.kind != .pciBridge {
            a += [("acs-cap", dev.acs.map { $0.capability.tokens }),
                  ("acs-ctrl", dev.acs.flatMap { $0.control.isEmpty ? nil : $0.control.tokens }),
                  ("acs-egress", dev.acs.flatMap { $0.egressVector.isEmpty ? nil : $0.egressVector.map(String.init).joined(separator: " ") }),
                  // Written only when observed, so firmware files keep their text.
                  ("acs-ctrl-source", dev.acs.flatMap { $0.isObserved ? ACSControlSource.observed.rawValue : nil })]
        }
        if dev.kind.isBridge {
            a += [("secondary", dev.bridge.secondaryBus.map { "0x" + hex($0, 2) }),
                  ("subordinate", dev.bridge.subordinateBus.map { "0x" + hex($0, 2) }),
                  ("mem-window", dev.bridge.memoryWindow.map(rangeText)),
                  ("pref-window", dev.bridge.prefetchableWindow.map(rangeText))]
        }
        if let sw = dev.switchInfo {
            a += [("chip", sw.chip), ("latency", sw.latency.map(Duration.format))]
        }
        if let ep = dev.endpoint {
            a += [("pcie", dev.isPCIe ? nil : "false"), ("ats", ep.supportsATS ? "true" : nil),
                  ("pasid", ep.supportsPASID ? "true" : nil), ("tags", ep.dma.tagBits == 8 ? nil : String(ep.dma.tagBits)),
                  ("outstanding-reads", ep.dma.outstandingReads == DMAEngine.tagLimit(bits: ep.dma.tagBits) ? nil : String(ep.dma.outstandingReads)),
                  ("issue-rate", ep.dma.maxIssueRate.map(issueRateText)), ("driver", ep.driver)]
        }
        let hasBody = !children[d].isEmpty || !dev.parameters.isEmpty || !dev.bars.isEmpty
            || dev.endpoint.map { !$0.p2pmem.isEmpty || $0.sriov != nil } == true
        guard hasBody else {
            x.empty(element, a)
            return
        }
        x.open(element, a)
        for bar in dev.bars { writeBAR(bar, &x) }
        if dev.kind != .endpoint { params(dev.parameters, &x) }
        if let ep = dev.endpoint {
            for p in ep.p2pmem {
                x.empty("p2pmem", [("bar", String(p.bar)), ("size", p.size == 0 ? nil : ByteSize.format(p.size)),
                                   ("offset", p.offset == 0 ? nil : ByteSize.format(p.offset)),
                                   ("published", p.isPublished ? nil : "false")])
            }
            if let s = ep.sriov {
                let sa: [(String, String?)] = [("total-vfs", String(s.totalVFs)), ("num-vfs", String(s.enabledVFs)),
                                               ("vf-id", s.vfID.description),
                                               ("offset", s.firstVFOffset == 1 ? nil : String(s.firstVFOffset)),
                                               ("stride", s.vfStride == 1 ? nil : String(s.vfStride))]
                if s.bars.isEmpty {
                    x.empty("sriov", sa)
                } else {
                    x.open("sriov", sa)
                    for bar in s.bars { writeBAR(bar, &x) }
                    x.close("sriov")
                }
            }
            params(dev.parameters, &x)
        }
        var ordinals = Ordinals()
        for c in children[d] { device(c, t, children, parentName: dev.name, ordinals: &ordinals, &x) }
        x.close(element)
    }

    static func writeBAR(_ bar: BAR, _ x: inout XMLBuilder) {
        x.empty("bar", [("index", String(bar.index)), ("size", ByteSize.format(bar.size)), ("bits", bar.is64Bit ? nil : "32"),
                        ("prefetchable", bar.isPrefetchable ? "true" : nil), ("address", bar.address.map { "0x" + hex($0, 1) })])
    }

    static func issueRateText(_ rate: Double) -> String {
        for (scale, unit) in [(1e9, "G"), (1e6, "M"), (1e3, "K")] where rate >= scale && (rate / scale * 1e6).rounded() == rate / scale * 1e6 {
            return formatDecimal(rate / scale) + unit + "/s"
        }
        return formatDecimal(rate) + "/s"
    }
}
