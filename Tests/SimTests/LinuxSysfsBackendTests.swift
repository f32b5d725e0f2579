// The read-only sysfs backend on this machine's own /sys (any Linux box, VMs included).
import Foundation
import Testing
@testable import Sim

@Test("LinuxSysfsBackend reports the groups and p2pmem the live /sys shows, and unknown for p2pdma answers",
      .enabled(if: FileManager.default.fileExists(atPath: "/sys/bus/pci/devices")))
func liveSysfs() throws {
    var backend = try LinuxSysfsBackend(root: "/")
    let listed = try FileManager.default.contentsOfDirectory(atPath: "/sys/bus/pci/devices").sorted()
    #expect(backend.snapshot.functions.map(\.bdf.description).sorted() == listed)
    for (i, f) in backend.snapshot.functions.enumerated() {
        let link = "/sys/bus/pci/devices/\(f.bdf)/iommu_group"
        let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link)
        let expected = target.flatMap { Int(URL(fileURLWithPath: $0).lastPathComponent) }
        #expect(backend.iommuGroup(of: i).value == expected, "\(f.bdf)")
        let hasP2PMem = FileManager.default.fileExists(atPath: "/sys/bus/pci/devices/\(f.bdf)/p2pmem")
        #expect((backend.p2pmem(of: i).value != nil) == hasP2PMem)
    }
    if !backend.snapshot.functions.isEmpty {
        if case .unknown = backend.pciP2PDMAMapType(provider: 0, client: 0) {} else { Issue.record("expected unknown") }
    }
    #expect(backend.iommuGroup(of: 10_000) == .unknown("no such device"))
}
