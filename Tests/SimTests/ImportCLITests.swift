// The import and export commands end to end: the built simrun, its exit codes, and its output files.
import Foundation
import Testing
@testable import Sim

/// The simrun executable next to the test bundle, when `swift test` built it (it builds every product).
let importSimrun: String? = {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("simrun").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir.deleteLastPathComponent()
    }
    return nil
}()

struct ImportRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

func runSimrun(_ arguments: [String]) throws -> ImportRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: importSimrun!)
    process.arguments = arguments
    process.currentDirectoryURL = repositoryRoot
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ImportRun(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

@Suite("simrun import/export commands", .enabled(if: importSimrun != nil))
struct ImportCLITests {
    let dir: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-import-cli-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()

    @Test("import lspci -o writes a file that validates; running it again replaces the file")
    func lspciToFile() throws {
        let out = dir.appendingPathComponent("lspci.xml").path
        for _ in 0..<2 {
            let r = try runSimrun(["import", "lspci", "Tests/SimTests/Fixtures/Import/lspci-vvv-nn-switch.txt",
                                   "--tree", "Tests/SimTests/Fixtures/Import/lspci-tv-switch.txt", "-o", out, "--cpu-vendor", "intel", "--cpu-family", "6"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.isEmpty)
            #expect(r.stderr.contains("imported 7 devices and 1 VF on 1 root complex"))
        }
        let v = try runSimrun(["validate", out])
        #expect(v.status == 0, "\(v.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8).contains("<socket id=\"0\" cpu-vendor=\"intel\" cpu-family=\"0x06\"/>"))
    }

    @Test("bad input exits 1 with file:line: error and leaves an existing output file as it was")
    func badInput() throws {
        let out = dir.appendingPathComponent("kept.xml").path
        try "previous\n".write(toFile: out, atomically: false, encoding: .utf8)
        let r = try runSimrun(["import", "nccl", "Tests/SimTests/Fixtures/Import/nccl-truncated.xml", "-o", out])
        #expect(r.status == 1)
        #expect(r.stderr.contains("Tests/SimTests/Fixtures/Import/nccl-truncated.xml:17: error:"))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "previous\n")
        let lspci = try runSimrun(["import", "lspci", "Tests/SimTests/Fixtures/Import/lspci-not-lspci.txt"])
        #expect(lspci.status == 1 && lspci.stderr.contains("error: no lspci device found"))
        let option = try runSimrun(["import", "hwloc", "Tests/SimTests/Fixtures/Import/hwloc-odd.xml", "--trained-link", "sometimes"])
        #expect(option.status != 0 && option.stderr.contains("--trained-link must be current or capability"))
    }

    @Test("import sysfs --root reads a fake tree; --trained-link capability drops LnkSta")
    func sysfsRoot() throws {
        let fake = try FakeSysfs()
        defer { fake.remove() }
        try buildSwitchMachine(fake)
        let current = try runSimrun(["import", "sysfs", "--root", fake.root.path, "--quiet"])
        #expect(current.status == 0, "\(current.stderr)")
        #expect(current.stdout.contains("trained-gen=\"3\""))
        let capability = try runSimrun(["import", "sysfs", "--root", fake.root.path, "--trained-link", "capability", "--quiet"])
        #expect(!capability.stdout.contains("trained-gen"))
    }

    @Test("export nccl prints NCCL XML, and import nccl reads it back")
    func exportNCCL() throws {
        let out = dir.appendingPathComponent("gpu8.nccl.xml").path
        let e = try runSimrun(["export", "nccl", "topologies/gpu8-gen4-switches.xml", "-o", out])
        #expect(e.status == 0, "\(e.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8).hasPrefix("<system version=\"1\">"))
        let i = try runSimrun(["import", "nccl", out, "--quiet"])
        #expect(i.status == 0 && i.stdout.contains("<topology name=\"imported-nccl\""))
        let missing = try runSimrun(["export", "nccl", "no/such/topology.xml"])
        #expect(missing.status == 1)
    }
    @Test("check-topo-m: exit 0 when every cell matches, 1 with the differing cells listed; p2p --format topo-m")
    func checkTopoM() throws {
        let topology = "Tests/SimTests/Fixtures/Import/topo-m-4xh100-nv6.topology.xml"
        let ok = try runSimrun(["check-topo-m", topology, "Tests/SimTests/Fixtures/Import/topo-m-4xh100-nv6.txt"])
        #expect(ok.status == 0 && ok.stdout == "64 cells compared, 0 differ\n")
        let printed = try runSimrun(["p2p", topology, "--format", "topo-m"])
        #expect(printed.status == 0 && printed.stdout.hasPrefix("\tGPU0\tGPU1\tGPU2\tGPU3\tNIC0\tNIC1\tNIC2\tNIC3\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID\nGPU0\t X \tNV6\tNV6\tNV6\tPIX\tSYS\tSYS\tSYS\tN/A\t3\t\tN/A\n"))
        // The same matrix against a machine whose GPUs sit on root ports of their own and have no NVLink.
        let other = try runSimrun(["check-topo-m", "topologies/epyc-gpus-on-root-ports.xml", "Tests/SimTests/Fixtures/Import/topo-m-4xh100-nv6.txt"])
        #expect(other.status == 1)
        #expect(other.stdout.contains("GPU0 GPU1: topology gives "))
        #expect(other.stdout.contains(", topo -m says NV6"))
    }
}

