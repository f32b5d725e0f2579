// A read-only mapping backend over a real Linux machine's /sys: it answers what the machine shows (IOMMU
// groups, ACS control where config space is readable, p2pmem) and says "unknown" for the rest.

/// `MappingBackend` over `SysfsSnapshot` (the one sysfs reader, shared with `simrun import sysfs`). Devices are
/// indices into `snapshot.functions`.
public struct LinuxSysfsBackend: MappingBackend {
    public let name = "sysfs"
    public let snapshot: SysfsSnapshot
    public var kernelLog: [String] { [] }

    public init(snapshot: SysfsSnapshot) { self.snapshot = snapshot }

    /// Reads `root/sys` (the live machine with `/`, or a copied tree).
    public init(root: String = "/") throws(DiagnosticError) {
        snapshot = try SysfsSnapshot.read(root: root)
    }

    /// The function at a BDF.
    public func function(at bdf: BDF) -> Int? { snapshot.functions.firstIndex { $0.bdf == bdf } }

    public mutating func pciP2PDMADistance(provider: Int, client: Int, verbose: Bool) -> Knowable<Int> {
        .unknown("sysfs does not expose p2pdma distances; ask the simulated backend for the imported machine")
    }

    public mutating func pciP2PDMAMapType(provider: Int, client: Int) -> Knowable<P2PMapType> {
        .unknown("sysfs does not expose p2pdma map types; ask the simulated backend for the imported machine")
    }

    public func iommuGroup(of device: Int) -> Knowable<Int> {
        guard snapshot.functions.indices.contains(device) else { return .unknown("no such device") }
        guard let g = snapshot.functions[device].iommuGroup else { return .unknown("no iommu_group link (no IOMMU, or the device has no group)") }
        return .known(g)
    }

    public func acsControl(of device: Int) -> Knowable<ACSFlags?> {
        guard snapshot.functions.indices.contains(device) else { return .unknown("no such device") }
        switch snapshot.functions[device].acs {
        case .present(let state): return .known(state.control)
        case .absent: return .known(nil)
        case .unreadable: return .unknown("config space beyond 64 bytes is readable only by root")
        }
    }

    /// sysfs `p2pmem/{size,available,published}` when the device published p2pmem.
    public func p2pmem(of device: Int) -> Knowable<SysfsSnapshot.P2PMem> {
        guard snapshot.functions.indices.contains(device) else { return .unknown("no such device") }
        guard let p = snapshot.functions[device].p2pmem else { return .unknown("no p2pmem directory") }
        return .known(p)
    }
}
