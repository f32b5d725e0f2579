// End-to-end tests of simrun validate / show / generate / schema on shipped files.
import Foundation
import Testing

@Suite(.serialized) struct TopologyCommandTests {
    @Test("simrun show matches the golden tree", arguments: [
        (["show", "topologies/nvmeof-switch-acs-on.xml", "--verbose"], "show-nvmeof-switch-acs-on-verbose.txt"),
        (["show", "topologies/gpu8-gen4-switches.xml"], "show-gpu8-gen4-switches.txt"),
    ])
    func showGolden(_ arguments: [String], _ golden: String) throws {
        let r = try simrun(arguments)
        #expect(r.status == 0, "\(r.stderr)")
        try expectGolden(r.stdout, golden)
    }

    @Test("simrun show --format json is valid JSON naming every function")
    func showJSON() throws {
        let r = try simrun(["show", "topologies/gpu8-gen4-switches.xml", "--format", "json"])
        #expect(r.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let functions = object?["functions"] as? [[String: Any]] ?? []
        #expect(functions.count > 40)
        #expect(functions.allSatisfy { ($0["bdf"] as? String)?.count == 12 })
    }

    @Test("simrun validate passes every shipped topology")
    func validateShipped() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("topologies").path)
            .filter { $0.hasSuffix(".xml") }.sorted().map { "topologies/" + $0 }
        let r = try simrun(["validate"] + files)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").count == files.count)
    }

    @Test("simrun validate reports every error as file:line: error: and exits 1")
    func validateBadFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("simrun-validate-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.xml")
        try """
        <?xml version="1.0"?>
        <topology name="bad">
          <root-complex name="rc0">
            <root-port id="8086:347a" gen="9"/>
            <root-port id="8086:347a" width="3"/>
          </root-complex>
        </topology>
        """.write(to: bad, atomically: true, encoding: .utf8)
        let r = try simrun(["validate", bad.path])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("\(bad.path):4: error: ") })
        #expect(lines.contains { $0.hasPrefix("\(bad.path):5: error: ") })
        let json = try simrun(["validate", "--format", "json", bad.path])
        #expect(json.status == 1)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(parsed?.first?["valid"] as? Bool == false)
        #expect((parsed?.first?["diagnostics"] as? [Any])?.count ?? 0 >= 2)
    }

    @Test("simrun generate writes a topology that validates, the same for the same seed")
    func generate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("simrun-generate-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.xml").path
        let r = try simrun(["generate", "--sockets", "2", "--switch-levels", "2", "--fanout", "2", "--seed", "7", "-o", a])
        #expect(r.status == 0, "\(r.stderr)")
        let again = try simrun(["generate", "--sockets", "2", "--switch-levels", "2", "--fanout", "2", "--seed", "7"])
        #expect(try String(contentsOfFile: a, encoding: .utf8) == again.stdout)
        #expect(try simrun(["validate", a]).status == 0)
        #expect(try simrun(["generate", "--gen", "9"]).status != 0)
    }

    @Test("simrun schema prints the XSD the repository ships")
    func schema() throws {
        let r = try simrun(["schema"])
        let shipped = try String(contentsOf: repositoryRoot.appendingPathComponent("topologies/topology.xsd"), encoding: .utf8)
        #expect(r.stdout == shipped)
    }
}

let shippedTopologyNames: [String] = ((try? FileManager.default.contentsOfDirectory(
    atPath: repositoryRoot.appendingPathComponent("topologies").path)) ?? []).filter { $0.hasSuffix(".xml") }.sorted()

@Suite struct SemanticsCommandTests {
    @Test("simrun p2p matches its golden matrix on every shipped topology", arguments: shippedTopologyNames)
    func p2pGolden(_ file: String) throws {
        let r = try simrun(["p2p", "topologies/" + file])
        #expect(r.status == 0, "\(r.stderr)")
        try expectGolden(r.stdout, "p2p-" + file.replacingOccurrences(of: ".xml", with: ".txt"))
    }

    @Test("simrun groups matches its golden listing on every shipped topology", arguments: shippedTopologyNames)
    func groupsGolden(_ file: String) throws {
        let r = try simrun(["groups", "--names", "topologies/" + file])
        #expect(r.status == 0, "\(r.stderr)")
        try expectGolden(r.stdout, "groups-" + file.replacingOccurrences(of: ".xml", with: ".txt"))
    }

    @Test("simrun p2p for one pair prints the kernel's warning lines", arguments: [
        ("nvmeof-switch-acs-on.xml", "nvme0", "nic0"), ("nvmeof-switch-acs-off.xml", "nvme0", "nic0"),
        ("xeon-not-whitelisted.xml", "gpu0", "gpu1"), ("epyc-gpus-on-root-ports.xml", "gpu0", "gpu1"),
    ])
    func p2pPair(_ file: String, _ provider: String, _ client: String) throws {
        let r = try simrun(["p2p", "topologies/" + file, "--provider", provider, "--client", client])
        #expect(r.status == 0, "\(r.stderr)")
        try expectGolden(r.stdout, "p2p-pair-\(file.replacingOccurrences(of: ".xml", with: ""))-\(provider)-\(client).txt")
    }

    @Test("simrun route shows every hop and names the blocking rule and its fix", arguments: [
        (["route", "topologies/nvmeof-switch-acs-on.xml", "--from", "nvme0", "--to", "nic0", "--read"], "route-nvmeof-acs-on-read.txt"),
        (["route", "topologies/nvmeof-switch-acs-off.xml", "--from", "nvme0", "--to", "nic0", "--read"], "route-nvmeof-acs-off-read.txt"),
        (["route", "topologies/xeon-not-whitelisted.xml", "--from", "gpu0", "--to", "gpu1"], "route-xeon-not-whitelisted.txt"),
        (["route", "topologies/workstation-no-acs.xml", "--from", "nvme0", "--to", "gpu0", "--read"], "route-workstation-read.txt"),
    ])
    func route(_ arguments: [String], _ golden: String) throws {
        let r = try simrun(arguments)
        #expect(r.status == 0, "\(r.stderr)")
        try expectGolden(r.stdout, golden)
    }

    @Test("the p2p matrix agrees cell by cell with the single-pair answers (one implementation)")
    func matrixAgreesWithPairs() throws {
        let file = "topologies/gpu8-gen4-switches.xml"
        let json = try simrun(["p2p", file, "--format", "json"])
        let cells = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(cells.count > 100)
        for cell in cells.prefix(40) {
            let p = cell["provider"] as! String, c = cell["client"] as! String
            guard p != c else { continue }
            let pair = try simrun(["p2p", file, "--provider", p, "--client", c, "--format", "json"])
            let answer = try JSONSerialization.jsonObject(with: Data(pair.stdout.utf8)) as? [String: Any]
            #expect(answer?["map_type"] as? String == cell["map_type"] as? String)
            #expect(answer?["distance"] as? Int == cell["distance"] as? Int)
        }
    }
}
