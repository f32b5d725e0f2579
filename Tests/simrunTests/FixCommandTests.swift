// simrun fix end to end: the printed line, booted through the semantics, makes every pair BUS_ADDR; a conflict
// with an isolation requirement is named and exits 1; acs-audit ends with the same line.
import Foundation
import Testing
import Sim

@Suite("simrun fix")
struct FixCommandTests {
    @Test("nvmeof-switch-acs-on: one line, and booting it makes every pair BUS_ADDR")
    func nvmeofLine() throws {
        let r = try simrun(["fix", "topologies/nvmeof-switch-acs-on.xml", "--format", "json", "--size", "4MiB"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let line = try #require(object["line"] as? String)
        #expect(!line.contains(" "), "one kernel parameter: \(line)")
        let commandLine = try #require(object["command_line_after"] as? String)
        // Check through the one semantics, as `--cmdline` would boot it.
        let loaded = try LoadedTopology.load(path: repositoryRoot.appendingPathComponent("topologies/nvmeof-switch-acs-on.xml").path)
        let after = Semantics(loaded, options: SemanticsOptions(kernel: KernelConfiguration(commandLine: commandLine, version: loaded.topology.kernel.version)))
        let pairs = try #require(object["pairs"] as? [[String: String]])
        #expect(pairs.count == 6)
        for p in pairs {
            let provider = try #require(loaded.enumeration.lookup(p["provider"]!)), client = try #require(loaded.enumeration.lookup(p["client"]!))
            #expect(after.p2pdma(provider: provider, client: client, verbose: false).mapType == .busAddress, "\(p)")
        }
        // What it buys: the refused p2pmem writes into the CMB run after the fix.
        let throughput = try #require(object["throughput"] as? [[String: Any]])
        let cmb = try #require(throughput.first { $0["pair"] as? String == "nic0 -> nvme0" })
        #expect(cmb["status_before"] as? String == "refused")
        #expect((cmb["gbps_after"] as? Double ?? 0) > 1)
        let text = try simrun(["fix", "topologies/nvmeof-switch-acs-on.xml", "--size", "4MiB"])
        #expect(text.stdout.contains("fix: \(line)\n"))
    }

    @Test("an isolation requirement that the required pair breaks names the pair, the port and the device; exit 1")
    func conflict() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-fix-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("topologies/nvmeof-switch-acs-on.xml"), encoding: .utf8)
        let withIOMMU = source.replacingOccurrences(of: "<kernel cmdline=\"intel_iommu=off\"/>", with: "<kernel cmdline=\"\"/>")
            .replacingOccurrences(of: "mode=\"off\"", with: "mode=\"dma\"")
        #expect(withIOMMU != source)
        let file = dir.appendingPathComponent("nvmeof-iommu.xml")
        try withIOMMU.write(to: file, atomically: true, encoding: .utf8)
        let r = try simrun(["fix", file.path, "--need", "nic0,nvme0", "--isolate", "nic0", "--size", "1MiB"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("conflict: P2P between nic0 and nvme0 needs ACS redirect off at 0000:02:00.0 sw0.dp0, but nic0 must stay isolated"))
        #expect(!r.stdout.contains("\nfix: "))
        // Isolating another device on the switch keeps a line, by BDF, not by the switch's ID.
        let ok = try simrun(["fix", file.path, "--need", "nic0,nvme0", "--isolate", "nvme1", "--size", "1MiB"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("fix: pci=disable_acs_redir=0000:02:00.0;0000:02:01.0\n"))
        // No IOMMU, no group to keep: bad input.
        let noGroups = try simrun(["fix", "topologies/nvmeof-switch-acs-on.xml", "--isolate", "nic0"])
        #expect(noGroups.status == 1 && noGroups.stderr.contains("no IOMMU is active"))
    }

    @Test("acs-audit ends with the machine-wide line")
    func auditLine() throws {
        let r = try simrun(["topologies/nvmeof-switch-acs-on.xml", "acs-audit", "--no-report"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Fix for the machine: pci=disable_acs_redir=pci:10b5:8747 "))
        #expect(!r.stdout.contains("pci=disable_acs_redir=0000:02:00.0;0000:02:01.0"))
    }
}
