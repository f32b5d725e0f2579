// The kernel oracle's comparator: real guest reports (captured from Debian's 6.1 under QEMU 7.2, in
// Fixtures/Oracle) agree with the simulator, and a wrong group, ACS value, device or log line is a mismatch
// that names both sides.
import Foundation
import Testing
@testable import Sim

/// A captured guest report (the sysfs archive left out) and the topology it was booted from.
struct OracleFixture: Sendable, CustomTestStringConvertible {
    var file: String
    var topology: String
    var testDescription: String { file }

    var text: String {
        get throws {
            try String(contentsOf: repositoryRoot.appendingPathComponent("Tests/SimTests/Fixtures/Oracle").appendingPathComponent(file),
                       encoding: .utf8)
        }
    }

    func report(_ edit: (String) -> String = { $0 }) throws -> GuestReport {
        try GuestReport.parse(edit(try text), file: file)
    }

    /// The machine as the guest saw it (the export's approximations applied).
    func expected() throws -> LoadedTopology {
        let loaded = try LoadedTopology.load(path: repositoryRoot.appendingPathComponent(topology).path)
        return try LoadedTopology(topology: QEMUExport.machine(loaded).guestTopology)
    }

    func compare(options: OracleComparisonOptions = OracleComparisonOptions(), _ edit: (String) -> String = { $0 }) throws -> OracleComparison {
        OracleComparison(expected: try expected(), guest: try report(edit), options: options)
    }

    static let vmFlatOn = OracleFixture(file: "vm-flat-intel_iommu-on.txt", topology: "topologies/vm-flat.xml")
    static let vmFlatOff = OracleFixture(file: "vm-flat-intel_iommu-off.txt", topology: "topologies/vm-flat.xml")
    static let vmFlatRedirect = OracleFixture(file: "vm-flat-disable_acs_redir.txt", topology: "topologies/vm-flat.xml")
    static let multifunctionNoACS = OracleFixture(file: "mf-root-ports-no-acs-intel_iommu-on.txt",
                                                  topology: "scripts/oracle/cases/mf-root-ports-no-acs.xml")
    static let noATS = OracleFixture(file: "mf-root-ports-acs-noats.txt", topology: "scripts/oracle/cases/mf-root-ports-acs.xml")
    // The command line as the kernel parses it (issue #20), and the export's subsystem IDs and PCIe-to-PCI bridges.
    static let quotedRedirect = OracleFixture(file: "g05-quoted-disable_acs_redir.txt", topology: "Tests/SimTests/Fixtures/Oracle/g05.xml")
    static let usedac = OracleFixture(file: "vm-flat-iommu-usedac-off.txt", topology: "topologies/vm-flat.xml")
    static let noATSPrefix = OracleFixture(file: "mf-root-ports-acs-noats-1.txt", topology: "scripts/oracle/cases/mf-root-ports-acs.xml")
    static let subsystemIDs = OracleFixture(file: "subsystem-ids-disable_acs_redir.txt", topology: "scripts/oracle/cases/subsystem-ids.xml")
    static let pciePCIBridge = OracleFixture(file: "pcie-pci-bridge-disable_acs_redir.txt", topology: "scripts/oracle/cases/pcie-pci-bridge.xml")
}

/// Replaces exact lines of a report (an empty replacement drops the line's content), so a test can falsify
/// single answers of the kernel.
func replacingLines(_ edits: [(old: String, new: String)]) -> (String) -> String {
    { text in
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (old, new) in edits {
            if let i = lines.firstIndex(of: old) { lines[i] = new } else { Issue.record("fixture has no line '\(old)'") }
        }
        return lines.joined(separator: "\n")
    }
}

func replacingLine(_ old: String, with new: String) -> (String) -> String { replacingLines([(old, new)]) }

@Suite("Guest report")
struct GuestReportTests {
    @Test("a captured report parses: release, command line, CPU, modules, devices with groups, ACS and drivers")
    func parse() throws {
        let r = try OracleFixture.vmFlatOn.report()
        #expect(r.formatVersion == 1)
        #expect(r.release == "6.1.0-56-amd64")
        #expect(r.kernelVersion == .linux61)
        #expect(r.commandLine == "console=ttyS0 panic=-1 intel_iommu=on")
        #expect(r.simulatedCommandLine == "intel_iommu=on")
        #expect(r.cpuVendorKind == .intel && r.cpuFamily == 6)
        #expect(r.modules.map(\.name).suffix(3) == ["nvme-core", "nvme", "e1000e"])
        let allLoaded = r.modules.allSatisfy { $0.isLoaded }
        #expect(allLoaded)
        #expect(r.devices.count == 11)
        let port = try #require(r.device(at: BDF(bus: 0, device: 3, function: 0)))
        #expect(port.id == PCIID(vendor: 0x1b36, device: 0x000c))
        #expect(port.classCode == 0x06_04_00)
        #expect(port.acs == GuestReport.ACSRegisters(offset: 0x148, capability: 0x005f, control: 0x001d))
        #expect(port.group == 3)
        #expect(port.driver == "pcieport")
        let lpc = try #require(r.device(at: BDF(bus: 0, device: 0x1f, function: 0)))
        #expect(lpc.acs == nil && lpc.group == 5 && lpc.driver == nil)
        #expect(r.kernelLog.contains("pci 0000:02:00.0: Adding to iommu group 7"))
        #expect(r.uptime != nil)
        #expect(r.sysfsArchiveBase64 == nil)   // left out of the fixture
    }

    @Test("console noise and carriage returns around the report are skipped; the sysfs archive is collected")
    func framing() throws {
        let text = "SeaBIOS noise\r\nORACLE-BEGIN 1\r\nrelease 6.12.9\r\ncmdline quiet\r\ncpu vendor=AuthenticAMD family=25 model=1\r\n"
            + "device 0000:00:00.0 id=8086:29c0 class=0x060000 p2pmem=none\r\n"
            + "device 0000:01:00.0 id=1b36:0010 class=0x010802 p2pmem=size=0x4000000,published=1\r\n"
            + "acs 0000:00:00.0 none\r\ngroup 4 0000:01:00.0\r\nfuture-key something\r\nORACLE-END\r\n"
            + "SYSFS-BEGIN\r\nH4sIAAAA\r\nAAAA\r\nSYSFS-END\r\n"
        let r = try GuestReport.parse(text, file: "serial.txt")
        #expect(r.kernelVersion == .linux612)
        #expect(r.cpuVendorKind == .amd && r.cpuFamily == 25)
        #expect(r.simulatedCommandLine == "")
        #expect(r.devices.map(\.bdf.description) == ["0000:00:00.0", "0000:01:00.0"])
        #expect(r.devices[1].p2pmem == GuestReport.P2PMem(size: 64 << 20, isPublished: true))
        #expect(r.devices[1].group == 4)
        #expect(r.sysfsArchiveBase64 == "H4sIAAAAAAAA")
    }

    @Test("a truncated or malformed report is refused with the line")
    func errors() throws {
        let truncated = "ORACLE-BEGIN 1\nrelease 6.1.0\ndevice 0000:00:00.0 id=8086:29c0 class=0x060000 p2pmem=none\n"
        #expect(throws: DiagnosticError.self) { try GuestReport.parse(truncated, file: "g.txt") }
        do {
            _ = try GuestReport.parse(truncated, file: "g.txt")
        } catch {
            #expect(error.description == "g.txt:4: error: the report ends without ORACLE-END: the guest stopped early (see its console log)")
        }
        do {
            _ = try GuestReport.parse("ORACLE-BEGIN 1\nrelease 6.1.0\nacs 0000:00:02.0 0x148:0x5f\ngroup x 0000:00:02.0\nORACLE-END\n", file: "g.txt")
            Issue.record("parsed a malformed report")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "g.txt:3: error: malformed acs registers '0x148:0x5f' (want offset:capability:control, e.g. 0x148:0x005f:0x001d)",
                "g.txt:4: error: malformed group line: group x 0000:00:02.0",
            ])
        }
        #expect(throws: DiagnosticError.self) { try GuestReport.parse("just a console log\n", file: "g.txt") }
        #expect(throws: DiagnosticError.self) { try GuestReport.parse("ORACLE-BEGIN 2\n", file: "g.txt") }
    }
}

@Suite("Oracle comparison")
struct OracleComparisonTests {
    @Test("captured Debian 6.1 boots agree with the simulator", arguments: [
        OracleFixture.vmFlatOn, .vmFlatOff, .vmFlatRedirect, .multifunctionNoACS,
        .quotedRedirect, .usedac, .noATSPrefix, .subsystemIDs, .pciePCIBridge,
    ])
    func capturedBootsMatch(_ fixture: OracleFixture) throws {
        let c = try fixture.compare()
        let matches = c.matches
        #expect(matches, "\(c.text)")
        #expect(c.kernel.version == .linux61)
        #expect(c.text.contains("match: the simulator and the kernel agree on"))
    }

    @Test("the multifunction root ports without ACS share one group with everything below them, on both sides")
    func multifunctionGroup() throws {
        let c = try OracleFixture.multifunctionNoACS.compare()
        let shared = c.rows.filter { (1...6).contains($0.bdf.bus) || ($0.bdf.bus == 0 && $0.bdf.device == 2) }
        #expect(shared.count == 12)
        #expect(Set(shared.map(\.kernelGroup)).count == 1)
        #expect(Set(shared.map(\.simulatorGroup)) == Set(shared.map(\.kernelGroup)))
        let rp3 = c.rows.filter { $0.bdf == BDF(bus: 0, device: 3, function: 0) || $0.bdf.bus == 7 }
        #expect(Set(rp3.map(\.kernelGroup)).count == 2, "rp3 (with ACS) and its NVMe have groups of their own")
        let matches = c.matches
        #expect(matches)
    }

    @Test("a wrong group number is a mismatch naming both sides")
    func wrongGroup() throws {
        let c = try OracleFixture.vmFlatOn.compare(replacingLine("group 7 0000:02:00.0", with: "group 9 0000:02:00.0"))
        #expect(!c.matches)
        let m = try #require(c.mismatches.first { $0.aspect == .group })
        #expect(m.description == "group 0000:02:00.0 (nvme0): simulator group 7 [0000:02:00.0], kernel group 9 [0000:02:00.0]")
        let line = c.text.split(separator: "\n").first { $0.hasPrefix("0000:02:00.0") }
        #expect(line?.contains("7/9") == true && line?.hasSuffix("MISMATCH") == true)
        // Renumbering alone passes the partition check; merging two groups does not.
        #expect(try OracleFixture.vmFlatOn.compare(options: OracleComparisonOptions(groups: .partition, kernelLog: false),
                                                   replacingLine("group 7 0000:02:00.0", with: "group 9 0000:02:00.0")).matches)
        let merged = try OracleFixture.vmFlatOn.compare(options: OracleComparisonOptions(groups: .partition, kernelLog: false),
                                                        replacingLine("group 7 0000:02:00.0", with: "group 8 0000:02:00.0"))
        #expect(merged.mismatches.map(\.description) == [
            "group 0000:02:00.0 (nvme0): simulator group 7 [0000:02:00.0], kernel group 8 [0000:02:00.0 0000:03:00.0]",
            "group 0000:03:00.0 (nvme1): simulator group 8 [0000:03:00.0], kernel group 8 [0000:02:00.0 0000:03:00.0]",
        ])
    }

    @Test("a wrong ACS control value is a mismatch naming both sides")
    func wrongACS() throws {
        let c = try OracleFixture.vmFlatRedirect.compare(replacingLine("acs 0000:00:03.0 0x148:0x005f:0x0011",
                                                                       with: "acs 0000:00:03.0 0x148:0x005f:0x001d"))
        #expect(c.mismatches.map(\.description) == [
            "acs 0000:00:03.0 (pcie0.rp1): simulator cap 0x005f ctrl 0x0011, kernel cap 0x005f ctrl 0x001d",
        ])
        let missing = try OracleFixture.vmFlatOn.compare(replacingLine("acs 0000:00:02.0 0x148:0x005f:0x001d", with: "acs 0000:00:02.0 none"))
        #expect(missing.mismatches.map(\.description) == [
            "acs 0000:00:02.0 (pcie0.rp0): simulator cap 0x005f ctrl 0x001d, kernel no ACS capability",
        ])
    }

    @Test("a device on one side only, or with another ID, is a device mismatch")
    func devices() throws {
        let c = try OracleFixture.vmFlatOff.compare(replacingLines([
            ("device 0000:03:00.0 id=1b36:0010 class=0x010802 p2pmem=none", "device 0000:04:00.0 id=8086:10d3 class=0x020000 p2pmem=none"),
            ("acs 0000:03:00.0 none", "acs 0000:04:00.0 none"),
            ("driver nvme 0000:03:00.0", ""),
        ]))
        #expect(c.mismatches.map(\.description) == [
            "device 0000:03:00.0 (nvme1): simulator has 1b36:0010, kernel has no such function",
            "device 0000:04:00.0: simulator has no such function, kernel has 8086:10d3",
        ])
        let id = try OracleFixture.vmFlatOff.compare(replacingLine("device 0000:00:01.0 id=1af4:1041 class=0x020000 p2pmem=none",
                                                                   with: "device 0000:00:01.0 id=1af4:1000 class=0x020000 p2pmem=none"))
        #expect(id.mismatches.map(\.description) == ["device 0000:00:01.0 (net0): simulator 1af4:1041 class 0x020000, kernel 1af4:1000 class 0x020000"])
    }

    @Test("a kernel log line about ACS on one side only is a log mismatch")
    func logLines() throws {
        let c = try OracleFixture.vmFlatRedirect.compare(replacingLine("log pci 0000:00:03.0: disabled ACS redirect", with: "log (removed)"))
        #expect(c.mismatches.map(\.description) == ["log: simulator logs \"pci 0000:00:03.0: disabled ACS redirect\", kernel does not"])
        #expect(try OracleFixture.vmFlatRedirect.compare(options: OracleComparisonOptions(kernelLog: false),
                                                         replacingLine("log pci 0000:00:03.0: disabled ACS redirect", with: "log (removed)")).matches)
    }

    @Test("the simulator boots with the guest's command line unless told another")
    func commandLine() throws {
        // Told intel_iommu=off, the simulator forms no groups and leaves ACS at 0: every device disagrees.
        let c = try OracleFixture.vmFlatOn.compare(options: OracleComparisonOptions(kernelLog: false, commandLine: "intel_iommu=off"))
        #expect(c.kernel.commandLine == "intel_iommu=off")
        #expect(c.mismatches.filter { $0.aspect == .group }.count == 11)
        #expect(c.mismatches.filter { $0.aspect == .acs }.count == 3)
    }

    @Test("the CPU the kernel saw is compared with the topology's boot socket")
    func cpu() throws {
        let c = try OracleFixture.vmFlatOn.compare(replacingLine("cpu vendor=GenuineIntel family=6 model=107",
                                                                 with: "cpu vendor=AuthenticAMD family=15 model=107"))
        #expect(c.mismatches.map(\.description) == ["cpu: simulator intel family 6, kernel AuthenticAMD family 15"])
    }

    @Test("Linux 6.1 sets ACS TB on every port with pci=noats (0x001f), and so does the simulator")
    func noATS() throws {
        let c = try OracleFixture.noATS.compare()
        #expect(c.matches, "\(c.text)")
    }

    @Test("the kernel's command line lines are compared: a quoted device, usedac, noats=1")
    func commandLineLines() throws {
        let quoted = try OracleFixture.quotedRedirect.compare(replacingLine("log PCI: Can't parse disable_acs_redir parameter: \"0000:00:01.0\"", with: "log (removed)"))
        #expect(quoted.mismatches.map(\.description) == ["log: simulator logs \"PCI: Can't parse disable_acs_redir parameter: \"0000:00:01.0\"\", kernel does not"])
        let usedac = try OracleFixture.usedac.compare(replacingLine("log Malformed early option 'iommu'", with: "log (removed)"))
        #expect(usedac.mismatches.map(\.description) == ["log: simulator logs \"Malformed early option 'iommu'\", kernel does not"])
        let ats = try OracleFixture.noATSPrefix.compare(replacingLine("log PCIe: ATS is disabled", with: "log (removed)"))
        #expect(ats.mismatches.map(\.description) == ["log: simulator logs \"PCIe: ATS is disabled\", kernel does not"])
    }

    @Test("subsystem IDs are compared; a pci:vvvv:dddd:ssss:ssss match shows in the log")
    func subsystems() throws {
        let c = try OracleFixture.subsystemIDs.compare(replacingLine("device 0000:01:00.0 id=8086:10d3 subsys=1028:0abc class=0x020000 p2pmem=none",
                                                                     with: "device 0000:01:00.0 id=8086:10d3 subsys=1028:0abd class=0x020000 p2pmem=none"))
        #expect(c.mismatches.map(\.description) == ["device 0000:01:00.0 (nicdell): simulator subsystem 1028:0abc, kernel subsystem 1028:0abd"])
        let r = try OracleFixture.subsystemIDs.report()
        #expect(r.kernelLog.contains("pci 0000:01:00.0: cannot disable ACS redirect for this hardware as it does not have ACS capabilities"))
        #expect(!r.kernelLog.contains { $0.hasPrefix("pci 0000:02:00.0: cannot disable") })
    }

    @Test("the verdict as JSON")
    func json() throws {
        let c = try OracleFixture.vmFlatOn.compare(replacingLine("group 7 0000:02:00.0", with: "group 9 0000:02:00.0"))
        let text = c.json.serialized(pretty: false)
        #expect(text.hasPrefix(#"{"release":"6.1.0-56-amd64","command_line":"intel_iommu=on","rules":"6.1","functions":11,"match":false,"mismatches":[{"aspect":"group","bdf":"0000:02:00.0","name":"nvme0","simulator":"group 7 [0000:02:00.0]""#))
    }
}
