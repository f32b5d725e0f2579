// The kernel oracle's third check: `simrun import sysfs --root` of the guest's sysfs gives back the machine that
// was booted. Functions are matched by BDF (the importer names devices by BDF, the topology by role).

public enum GuestImportComparison {
    /// Differences between the booted machine (as QEMU builds it) and the topology imported from the guest's sysfs:
    /// functions on one side only, and per function its vendor:device, kind, parent, ACS capability, and the
    /// IOMMU group the guest's sysfs names (`import.iommu-group`) against the simulator's (`kernelGroups`).
    /// Link speed and width are not compared: QEMU 7.2's emulated switch ports and endpoints report their
    /// own link registers (x3130 Gen1 x1, e1000e Gen1 x1), not the topology's.
    public static func compare(expected: LoadedTopology, imported: LoadedTopology, groups: [BDF: Int] = [:]) -> [OracleMismatch] {
        struct Facts: Equatable {
            var id: PCIID
            var kind: String
            var parent: BDF?
            var acsCapability: UInt16?
            var group: Int?
        }
        func facts(_ l: LoadedTopology, groupOf: (Int, Device?) -> Int?) -> [BDF: (String, Facts)] {
            var out: [BDF: (String, Facts)] = [:]
            let e = l.enumeration
            for (i, f) in e.functions.enumerated() where f.physicalFunction == nil {
                let d = f.device.map { l.topology.devices[$0] }
                out[f.bdf] = (f.name, Facts(id: f.id, kind: f.kind.rawValue, parent: f.upstreamBridge.map { e.functions[$0].bdf },
                                            acsCapability: d?.acs.map { $0.capability.rawValue }, group: groupOf(i, d)))
            }
            // Host bridges the topology names only by ID sit at 00.0 of their root bus.
            for (r, rc) in l.topology.rootComplexes.enumerated() where r < e.rootComplexes.count {
                guard let id = rc.hostBridgeID else { continue }
                let bdf = BDF(segment: e.rootComplexes[r].segment, bus: e.rootComplexes[r].busRange.lowerBound, device: 0, function: 0)
                out[bdf] = ("host bridge", Facts(id: id, kind: "host-bridge", parent: nil, acsCapability: nil, group: nil))
            }
            return out
        }
        let want = facts(expected) { i, _ in groups[expected.enumeration.functions[i].bdf] }
        let got = facts(imported) { _, d in
            guard !groups.isEmpty else { return nil }
            return d?.parameters.first { $0.name == "import.iommu-group" }.flatMap { Int($0.value) }
        }
        var out: [OracleMismatch] = []
        for bdf in Set(want.keys).union(got.keys).sorted(by: { ($0.segment, $0.requesterID) < ($1.segment, $1.requesterID) }) {
            let name = want[bdf]?.0
            guard let (_, a) = want[bdf] else {
                out.append(OracleMismatch(aspect: .imported, bdf: bdf, name: nil, simulator: "absent", kernel: "imported \(got[bdf]!.1.id) \(got[bdf]!.1.kind)"))
                continue
            }
            guard let (_, b) = got[bdf] else {
                out.append(OracleMismatch(aspect: .imported, bdf: bdf, name: name, simulator: "\(a.id) \(a.kind)", kernel: "not imported"))
                continue
            }
            func differ(_ what: String, _ x: String, _ y: String) {
                if x != y { out.append(OracleMismatch(aspect: .imported, bdf: bdf, name: name, simulator: "\(what) \(x)", kernel: "imported \(what) \(y)")) }
            }
            differ("id", a.id.description, b.id.description)
            differ("kind", a.kind, b.kind)
            differ("parent", a.parent?.description ?? "root bus", b.parent?.description ?? "root bus")
            differ("ACS capability", a.acsCapability.map { "0x" + hex($0, 4) } ?? "none", b.acsCapability.map { "0x" + hex($0, 4) } ?? "none")
            if !groups.isEmpty { differ("group", a.group.map(String.init) ?? "none", b.group.map(String.init) ?? "none") }
        }
        return out
    }
}
