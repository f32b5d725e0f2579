// The same machine under two kernel versions: every IOMMU group, ACS control, p2p cell, warning line and boot
// line that differs, each with the version rules (KernelRules) that explain it.
import Sim

public enum KernelDiff {
    /// What changes from `a` to `b` (the same topology booted under two kernels, or two machines under one).
    /// Group, ACS and p2p changes come from `MachineFacts`; then the p2pdma warning lines of every ordered
    /// endpoint pair (`calc_map_type_and_dist` with `verbose`) and the boot log lines that differ. Each change
    /// carries the rules on which the two versions differ that act on its kind and that this machine reads
    /// (`KernelRules.explaining`). The kernel input itself (the version) is not reported as a change when the
    /// command lines are equal.
    public static func changes(_ a: Semantics, _ b: Semantics) -> [MachineChange] {
        let fa = MachineFacts(a)
        var fb = MachineFacts(b)
        if a.loaded.topology.kernel.commandLine == b.loaded.topology.kernel.commandLine,
           let kernelInput = fa.inputs.first(where: { $0.kind == "kernel" }) {
            // The version is what is being compared: not an input change, nor a cause on every path.
            fb.inputs = fb.inputs.map { $0.kind == "kernel" ? kernelInput : $0 }
        }
        var out = fa.changes(to: fb)
        for i in out.indices {
            let effect: KernelRuleEffect? = switch out[i].kind {
            case "acs": .acsControl
            case "group": .groups
            case "p2p": .p2p
            default: nil
            }
            if let effect { out[i].rules = KernelRules.explaining(effect, a, b) }
        }
        out += warningChanges(a, b, endpoints: fb.endpoints) { key in
            // BUS_ADDR prints nothing: only pairs that are something else on either side can differ.
            fa.p2p[key]?.mapType != .busAddress || fb.p2p[key]?.mapType != .busAddress
        }
        out += logChanges(a, b)
        return out
    }

    /// The p2pdma warning lines of each ordered endpoint pair that differ (client -> provider, as the p2p cells).
    static func warningChanges(_ a: Semantics, _ b: Semantics, endpoints: [String],
                               mayWarn: (String) -> Bool) -> [MachineChange] {
        let e = a.loaded.enumeration
        let indices = endpoints.compactMap { e.lookup($0) }
        let rules = KernelRules.explaining(.warnings, a, b)
        var out: [MachineChange] = []
        for p in indices {
            for c in indices where c != p && mayWarn(e.functions[p].name + "|" + e.functions[c].name) {
                let wa = a.p2pdma(provider: p, client: c, verbose: true).warnings
                let wb = b.p2pdma(provider: p, client: c, verbose: true).warnings
                guard wa != wb else { continue }
                let removed = wa.filter { !wb.contains($0) }.map { "- " + $0 }
                let added = wb.filter { !wa.contains($0) }.map { "+ " + $0 }
                let client = e.functions[c].name, provider = e.functions[p].name
                var change = MachineChange(kind: "warning", device: client,
                                           text: "\(client) -> \(provider) warning lines: " + (removed + added).joined(separator: " | "),
                                           affectsP2P: false, movesNumbers: false)
                change.rules = rules
                out.append(change)
            }
        }
        return out
    }

    /// Boot log lines (at the default log level) that only one side prints.
    static func logChanges(_ a: Semantics, _ b: Semantics) -> [MachineChange] {
        let la = a.kernelLog, lb = b.kernelLog
        let removed = la.filter { !lb.contains($0) }, added = lb.filter { !la.contains($0) }
        guard !removed.isEmpty || !added.isEmpty else { return [] }
        let rules = KernelRules.explaining(.bootLog, a, b)
        let lines = removed.map { "- " + $0 } + added.map { "+ " + $0 }
        return lines.map { line in
            var c = MachineChange(kind: "log", device: "kernel log", text: "boot log \(line)", affectsP2P: false, movesNumbers: false)
            c.rules = rules
            return c
        }
    }
}
