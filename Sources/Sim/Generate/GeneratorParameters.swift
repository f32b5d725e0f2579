// Parameters of `simrun generate`: a synthetic machine described by a few numbers.

/// What `TopologyGenerator.generate(_:)` builds. Every field has a default so a call can name only what it varies.
public struct GeneratorParameters: Sendable, Hashable {
    public var name: String = "generated"
    public var sockets: Int = 1
    /// Root complexes (host bridges) per socket.
    public var rootComplexesPerSocket: Int = 1
    public var rootPortsPerRootComplex: Int = 4
    /// Switch levels below each root port (0: endpoints sit directly on root ports).
    public var switchLevels: Int = 1
    /// Downstream ports of each non-leaf switch (each leads to a switch of the next level).
    public var fanout: Int = 4
    /// Endpoints below each leaf switch (one per downstream port), or on each root port when switchLevels is 0
    /// (then only the first class with a non-zero count is used per root port, cycling through the mix).
    public var gpusPerSwitch: Int = 2
    public var nicsPerSwitch: Int = 1
    public var nvmePerSwitch: Int = 1
    public var fpgasPerSwitch: Int = 0
    public var genericPerSwitch: Int = 0
    public var generation: LinkGeneration = .gen4
    public var width: Int = 16
    /// true: root ports and switch downstream ports implement ACS (SV RR CR UF EC DT; TB where ATS-capable)
    /// with control as firmware leaves it (0); false: no ACS capability anywhere.
    public var acs: Bool = true
    public var iommuMode: IOMMUMode = .dma
    public var cpuVendor: CPUVendor = .intel
    /// Keep the machine expressible in QEMU (q35 + pcie-root-port + x3130/xio3130 + nvme + e1000e).
    public var qemuCompatible: Bool = false
    public var seed: UInt64 = 1

    public init() {}

    public var endpointsPerLeaf: Int { gpusPerSwitch + nicsPerSwitch + nvmePerSwitch + fpgasPerSwitch + genericPerSwitch }
}
