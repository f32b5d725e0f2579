// The p2p matrix as a table, like nvidia-smi topo -m: one row per provider, one column per client.

public enum P2PTable {
    /// Short cell form: `BUS 4 PIX`, `HB 4 PHB`, `NS -1 SYS`.
    public static func cell(_ type: P2PMapType, _ distance: Int, _ path: PathClass) -> String {
        cell(type, distance, .pcie(path))
    }

    /// Short cell form with nvidia-smi's class: `BUS 4 NV12` where NVLink joins the pair (the map type and
    /// distance stay the PCIe ones: p2pdma does not use NVLink).
    public static func cell(_ type: P2PMapType, _ distance: Int, _ path: TopoMatrixClass) -> String {
        if path == .pcie(.same) { return "X" }
        let t: String
        switch type {
        case .busAddress: t = "BUS"
        case .thruHostBridge: t = "HB"
        case .notSupported: t = "NS"
        default: t = "?"
        }
        return "\(t) \(type == .notSupported ? -1 : distance) \(path.description)"
    }

    public static func text(_ matrix: P2PMatrix, fabric: Fabric) -> String {
        let names = matrix.providers.map { fabric.name($0) }
        let clientNames = matrix.clients.map { fabric.name($0) }
        var cells: [[String]] = []
        let gpuFabric = GPUFabric(fabric.topology)
        for (pi, p) in matrix.providers.enumerated() {
            cells.append(matrix.clients.enumerated().map { ci, c in
                let m = matrix[provider: pi, client: ci]
                return cell(m.mapType, m.distance, fabric.topoMatrixClass(p, c, gpuFabric: gpuFabric))
            })
        }
        let first = max(8, (names.map(\.count).max() ?? 0) + 2)
        let width = max(12, (clientNames.map(\.count).max() ?? 0) + 2, (cells.flatMap { $0 }.map(\.count).max() ?? 0) + 2)
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
        var out = pad("provider", first) + clientNames.map { pad($0, width) }.joined() + "\n"
        for (i, row) in cells.enumerated() {
            out += pad(names[i], first) + row.map { pad($0, width) }.joined() + "\n"
        }
        while out.contains(" \n") { out = out.replacingOccurrences(of: " \n", with: "\n") }
        out += "\nBUS = PCI_P2PDMA_MAP_BUS_ADDR, HB = PCI_P2PDMA_MAP_THRU_HOST_BRIDGE, NS = PCI_P2PDMA_MAP_NOT_SUPPORTED (distance -1);\n"
        out += "PIX/PXB/PHB/NODE/SYS as nvidia-smi topo -m. Rows are providers, columns clients.\n"
        if !gpuFabric.isEmpty {
            out += "NV# = a bonded set of # NVLinks, shown instead of the PCIe class as nvidia-smi does (the PCIe class: --format json).\n"
        }
        return out
    }
}
