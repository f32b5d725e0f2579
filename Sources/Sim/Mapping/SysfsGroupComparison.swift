// Compares the IOMMU groups the simulator predicts for an imported machine with the kernel's actual groups.

public struct SysfsGroupComparison: Sendable {
    public struct Row: Sendable, Hashable {
        public var bdf: BDF
        public var kernelPeers: [BDF]?
        public var predictedPeers: [BDF]?
    }
    public var rows: [Row] = []
    public var mismatches: [Row] = []
    public var text = ""

    /// Groups are compared as partitions: for each device, the set of devices sharing its group must be equal
    /// (group numbers differ between runs and kernels, membership must not).
    public static func compare(backend: LinuxSysfsBackend, predicted: Semantics, loaded: LoadedTopology) -> SysfsGroupComparison {
        var out = SysfsGroupComparison()
        let snapshot = backend.snapshot
        var kernelGroups: [Int: [BDF]] = [:]
        for f in snapshot.functions { if let g = f.iommuGroup { kernelGroups[g, default: []].append(f.bdf) } }
        var predictedGroups: [Int: [BDF]] = [:]
        let e = loaded.enumeration
        for (i, g) in predicted.groupNumbers.enumerated() where i < e.functions.count {
            if let g { predictedGroups[g, default: []].append(e.functions[i].bdf) }
        }
        let predictedByBDF: [BDF: Int] = Dictionary(predicted.groupNumbers.enumerated().compactMap { i, g in
            g.map { (e.functions[i].bdf, $0) } }, uniquingKeysWith: { a, _ in a })
        for f in snapshot.functions.sorted(by: { $0.bdf < $1.bdf }) {
            let kernel = f.iommuGroup.map { (kernelGroups[$0] ?? []).sorted() }
            let sim = predictedByBDF[f.bdf].map { (predictedGroups[$0] ?? []).sorted() }
            let row = Row(bdf: f.bdf, kernelPeers: kernel, predictedPeers: sim)
            out.rows.append(row)
            if kernel != sim { out.mismatches.append(row) }
        }
        func list(_ b: [BDF]?) -> String { b.map { "{" + $0.map(\.description).joined(separator: " ") + "}" } ?? "no group" }
        if kernelGroups.isEmpty {
            out.text += "the kernel formed no IOMMU groups (no IOMMU active)\n"
        }
        for r in out.rows {
            let verdict = r.kernelPeers == r.predictedPeers ? "PASS" : "FAIL"
            out.text += "\(verdict)  \(r.bdf)  kernel \(list(r.kernelPeers))"
            if verdict == "FAIL" { out.text += "  simulator \(list(r.predictedPeers))" }
            out.text += "\n"
        }
        out.text += "\(out.rows.count - out.mismatches.count) passed, \(out.mismatches.count) failed\n"
        return out
    }
}
