// The oracle's import check on a real guest: Debian's 6.1 kernel booted under QEMU 7.2 (TCG) on the generated
// machine g05 (a root port, one x3130 switch, an e1000e and an NVMe), intel_iommu=on. Its PCI sysfs, as the
// guest packed it, is the fixture g05-intel_iommu-on-sysfs.tar.gz (scripts/oracle/ci.sh, case g05).
import Foundation
import Testing
@testable import Sim

@Suite("Oracle: the guest's sysfs imports back to the booted machine")
struct OracleImportTests {
    static let fixture = OracleFixture(file: "g05-intel_iommu-on.txt", topology: "Tests/SimTests/Fixtures/Oracle/g05.xml")

    func importedGuest() throws -> LoadedTopology {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-g05-sysfs-\(UUID().uuidString)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["xzf", repositoryRoot.appendingPathComponent("Tests/SimTests/Fixtures/Oracle/g05-intel_iommu-on-sysfs.tar.gz").path, "-C", dir.path]
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        let result = try SysfsImporter.read(root: dir.path)
        return try LoadedTopology(topology: result.topology)
    }

    var groups: [BDF: Int] {
        get throws { Dictionary(uniqueKeysWithValues: try Self.fixture.report().devices.compactMap { d in d.group.map { (d.bdf, $0) } }) }
    }

    @Test("the guest's tree, IDs, kinds, parents, ACS capabilities and IOMMU groups come back")
    func matches() throws {
        let mismatches = GuestImportComparison.compare(expected: try Self.fixture.expected(), imported: try importedGuest(), groups: try groups)
        #expect(mismatches.isEmpty, "\(mismatches)")
        // And the guest's own report agrees with the simulator (the main comparison).
        let c = try Self.fixture.compare()
        #expect(c.matches, "\(c.text)")
    }

    @Test("a wrong ID, a moved device, a wrong group and a missing function are mismatches naming both sides")
    func mismatches() throws {
        var expected = try Self.fixture.expected().topology
        let nic = try #require(expected.devices.firstIndex { $0.name == "nic0" })
        expected.devices[nic].id = PCIID("8086:10d4")!
        var groups = try groups
        let nvme = try #require(BDF("0000:04:00.0"))
        groups[nvme] = 9
        let m = GuestImportComparison.compare(expected: try LoadedTopology(topology: expected), imported: try importedGuest(), groups: groups)
        #expect(m.map(\.description).contains("imported 0000:03:00.0 (nic0): simulator id 8086:10d4, kernel imported id 8086:10d3"))
        #expect(m.contains { $0.bdf == nvme && $0.simulator == "group 9" && $0.kernel == "imported group 5" })
        // Another machine's guest: functions on one side only are named as such.
        let other = GuestImportComparison.compare(expected: try OracleFixture.vmFlatOn.expected(), imported: try importedGuest())
        #expect(other.contains { $0.kernel == "not imported" } && other.contains { $0.simulator == "absent" })
    }
}
