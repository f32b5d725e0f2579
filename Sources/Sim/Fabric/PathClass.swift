// The path classes `nvidia-smi topo -m` prints for a pair of devices.

/// How two devices connect, in `nvidia-smi topo -m` terms (NVIDIA's legend, quoted in each case).
public enum PathClass: String, Sendable, Hashable, CaseIterable {
    /// "X": the same device.
    case same = "X"
    /// "PIX: Connection traversing at most a single PCIe bridge".
    case pix = "PIX"
    /// "PXB: Connection traversing multiple PCIe bridges (without traversing the PCIe Host Bridge)".
    case pxb = "PXB"
    /// "PHB: Connection traversing PCIe as well as a PCIe Host Bridge (typically the CPU)".
    case phb = "PHB"
    /// "NODE: Connection traversing PCIe as well as the interconnect between PCIe Host Bridges within a NUMA node".
    case node = "NODE"
    /// "SYS: Connection traversing PCIe as well as the SMP interconnect between NUMA nodes (e.g., QPI/UPI)".
    case sys = "SYS"
}

extension Fabric {
    /// The path class of a pair. A "bridge" is a switch (its upstream port and downstream ports count once)
    /// or a root port's link; a pair below one switch's downstream ports, or functions of one device, is PIX.
    public func pathClass(_ a: Int, _ b: Int) -> PathClass {
        if a == b { return .same }
        let fa = enumeration.functions[a], fb = enumeration.functions[b]
        if let c = commonBridge(a, b) {
            let pa = fa.upstreamBridge, pb = fb.upstreamBridge
            if pa == pb { return .pix }   // functions (or VFs) on one link
            // Both directly below downstream ports of the switch whose upstream port is the common bridge.
            if enumeration.functions[c].kind == .switchUpstreamPort,
               let pa, let pb, enumeration.functions[pa].upstreamBridge == c, enumeration.functions[pb].upstreamBridge == c {
                return .pix
            }
            return .pxb
        }
        if fa.rootComplex == fb.rootComplex { return .phb }
        let sa = topology.rootComplexes[fa.rootComplex].socket
        let sb = topology.rootComplexes[fb.rootComplex].socket
        return sa == sb ? .node : .sys
    }
}

extension Fabric {
    /// The class `nvidia-smi topo -m` prints for two PCI functions: `NV#` (or `XGMI#`) when a GPU fabric joins
    /// their devices, as nvidia-smi prefers NVLink over the PCIe path; otherwise the PCIe `pathClass`.
    /// GPU links never change the PCIe answer: `pathClass` and every p2pdma rule ignore them.
    public func topoMatrixClass(_ a: Int, _ b: Int, gpuFabric: GPUFabric) -> TopoMatrixClass {
        if a != b, let da = enumeration.functions[a].device, let db = enumeration.functions[b].device,
           let n = gpuFabric.linkCount(da, db) {
            return gpuFabric.linkKind(da, db) == .xgmi ? .xgmi(n) : .nvlink(n)
        }
        return .pcie(pathClass(a, b))
    }
}
