// simrun import FILE: format detection by content, --strict, the summary line (issue #17 items 6 and 7).
import Foundation
import Testing
@testable import Sim

@Suite("import format detection")
struct ImportFormatTests {
    @Test("each fixture is told by its content", arguments: [
        ("lspci-vvv-nn-switch.txt", ImportFormat.lspci), ("lspci-tv-switch.txt", .lspci), ("lspci-vvv-messy.txt", .lspci),
        ("lspci-t-club3090-1322.txt", .lspci), ("hwloc-1x-workstation.xml", .hwloc), ("hwloc-2x-two-packages.xml", .hwloc),
        ("nccl-two-sockets.xml", .nccl), ("nccl-cloud-vm.xml", .nccl),
    ])
    func fixtures(_ name: String, _ format: ImportFormat) throws {
        #expect(try ImportFormat.detect(path: importFixture(name)) == format)
    }

    @Test("a sysfs folder is sysfs; other folders, PCIeSim topologies and unknown text are errors that say what they are")
    func others() throws {
        let fake = try FakeSysfs()
        defer { fake.remove() }
        #expect(try ImportFormat.detect(path: fake.root.path) == .sysfs)
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        func message(_ path: String) -> String {
            do { _ = try ImportFormat.detect(path: path); return "" } catch { return error.diagnostics.map(\.description).joined() }
        }
        #expect(message(empty.path).contains("not a sysfs tree"))
        #expect(message(repositoryRoot.appendingPathComponent("topologies/fpga-nvme.xml").path).contains("already a PCIeSim topology"))
        #expect(message(importFixture("lspci-not-lspci.txt")).contains("cannot tell the format"))
        #expect(message("/nonexistent/x").contains("no such file or folder"))
        #expect(throws: DiagnosticError.self) { _ = try ImportFormat.detect(text: "<?xml version=\"1.0\"?>\n<!-- c -->\n<svg/>", file: "x") }
        #expect(try ImportFormat.detect(text: "\u{FEFF}<?xml version=\"1.0\"?><!DOCTYPE topology SYSTEM \"hwloc2.dtd\"><topology version=\"2.0\"><object type=\"Machine\"/></topology>", file: "x") == .hwloc)
    }

    @Test("two lspci files are the -vvv text and its tree in either order")
    func twoFiles() throws {
        let a = try ImportFormat.importAny(paths: [importFixture("lspci-vvv-nn-switch.txt"), importFixture("lspci-tv-switch.txt")])
        let b = try ImportFormat.importAny(paths: [importFixture("lspci-tv-switch.txt"), importFixture("lspci-vvv-nn-switch.txt")])
        #expect(a.topology == b.topology)
        #expect(a.sources.contains { $0.contains("lspci -tv") })
        #expect(throws: DiagnosticError.self) { _ = try ImportFormat.importAny(paths: [importFixture("lspci-tv-switch.txt"), importFixture("nccl-odd.xml")]) }
    }
}

@Suite("simrun import FILE, --strict and the summary", .enabled(if: importSimrun != nil))
struct ImportStrictCLITests {
    @Test("simrun import FILE detects lspci; the summary is the last word before the totals; --strict exits 3 and writes nothing")
    func strict() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-strict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("t.xml").path
        let fixture = "Tests/SimTests/Fixtures/Import/lspci-t-club3090-845-x570.txt"
        let r = try runSimrun(["import", fixture, "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("\(fixture): 52 functions read, 52 placed, 0 dropped; 52 known only from the tree"))
        #expect(r.stderr.contains("\(fixture):1: warning: 52 functions only in the lspci -tv tree"))
        #expect(FileManager.default.fileExists(atPath: out))
        let v = try runSimrun(["validate", out])
        #expect(v.status == 0, "\(v.stderr)")

        let strictOut = dir.appendingPathComponent("strict.xml").path
        let s = try runSimrun(["import", fixture, "--strict", "--quiet", "-o", strictOut])
        #expect(s.status == 3)
        #expect(s.stderr.contains("error: --strict: the import is not lossless"))
        #expect(!FileManager.default.fileExists(atPath: strictOut))
        let sub = try runSimrun(["import", "lspci", fixture, "--strict", "--quiet"])
        #expect(sub.status == 3)
    }

    @Test("simrun import of something else says what it is, exit 1")
    func notImportable() throws {
        let r = try runSimrun(["import", "topologies/fpga-nvme.xml"])
        #expect(r.status == 1 && r.stderr.contains("topologies/fpga-nvme.xml: error: already a PCIeSim topology"))
    }

    @Test("simrun show says which ports carry observed ACS control and that the boot rules are not re-applied to them")
    func showObserved() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-show-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("live.xml").path
        let r = try runSimrun(["import", "Tests/SimTests/Fixtures/Import/lspci-vvv-srcvalid-cleared.txt", "--cpu-vendor", "amd", "--cpu-family", "25", "--quiet", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        let show = try runSimrun(["show", out])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("ACS control observed on a running kernel for 3 functions (rp-00-03.1, rp-00-03.2, rp-00-03.3): taken as is, pci_enable_acs() not re-applied"))
        // A shipped (firmware) topology prints no such line.
        let shipped = try runSimrun(["show", "topologies/fpga-nvme.xml"])
        #expect(shipped.status == 0 && !shipped.stdout.contains("observed on a running kernel"))
    }
}
