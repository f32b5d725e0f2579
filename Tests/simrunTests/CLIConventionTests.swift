// CLI conventions (issue #18): bad input is exit 1 with the project's message and a "did you mean", bare simrun
// prints the overview, --out is the one spelling of an output path, --format json where a result is printed,
// shipped files found from any working directory, and diff's exit status follows every input that moves a number.
import Foundation
import Testing

@Suite struct CLIConventionTests {
    @Test("bare simrun prints the overview and exits 0")
    func bare() throws {
        let r = try simrun([])
        #expect(r.status == 0)
        #expect(r.stdout.contains("OVERVIEW:") && r.stdout.contains("SUBCOMMANDS:") && r.stdout.contains("route"))
    }

    @Test("an unknown device is exit 1 with a did-you-mean in route, p2p and run", arguments: [
        (["route", "topologies/gpu8-gen4-switches.xml", "--from", "gpu9", "--to", "gpu1"], "no device 'gpu9'", "did you mean gpu0, gpu1 or gpu2?"),
        (["route", "topologies/nvmeof-switch-acs-on.xml", "--from", "nic0", "--to", "nvmee0"], "no device 'nvmee0'", "did you mean nvme0?"),
        (["p2p", "topologies/nvmeof-switch-acs-on.xml", "--provider", "nvme0", "--client", "nico"], "no device 'nico'", "did you mean nic0?"),
        (["run", "topologies/gpu8-gen4-switches.xml", "p2p-matrix", "--devices", "gpu0,gpuu1", "--no-report"], "no device 'gpuu1'", "did you mean gpu1"),
        (["topologies/gpu8-gen4-switches.xml", "p2p-matrx", "--no-report"], "neither a built-in scenario", "did you mean p2p-matrix?"),
    ])
    func unknownNames(_ args: [String], _ message: String, _ hint: String) throws {
        let r = try simrun(args)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains(message) && r.stderr.contains(hint), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test("usage errors are exit 1 too (not ArgumentParser's 64), with the subcommand's usage line")
    func usage() throws {
        let r = try simrun(["route", "topologies/gpu8-gen4-switches.xml", "--from", "gpu0", "--to", "gpu1", "--bogus"])
        #expect(r.status == 1 && r.stderr.contains("Unknown option '--bogus'") && r.stderr.contains("Usage: simrun route"))
        let missing = try simrun(["groups"])
        #expect(missing.status == 1)
    }

    @Test("--out is the output path everywhere; -o and the old --output still work")
    func out() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-out-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var written: [String] = []
        for (i, flag) in ["--out", "-o", "--output"].enumerated() {
            let path = dir.appendingPathComponent("g\(i).xml").path
            let r = try simrun(["generate", "--gpus", "2", flag, path])
            #expect(r.status == 0, "\(flag): \(r.stderr)")
            written.append(try String(contentsOfFile: path, encoding: .utf8))
        }
        #expect(Set(written).count == 1)
        let help = try simrun(["generate", "--help"])
        #expect(help.stdout.contains("--out") && !help.stdout.contains("--output"))
    }

    @Test("route --format json: the hops, verdicts and fix the text prints")
    func routeJSON() throws {
        let r = try simrun(["route", "topologies/nvmeof-switch-acs-on.xml", "--from", "nic0", "--to", "nvme0", "--format", "json"])
        #expect(r.status == 0)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let hops = try #require(root["hops"] as? [[String: Any]])
        #expect(hops.first?["action"] as? String == "issue")
        #expect(hops.contains { $0["action"] as? String == "redirect-rr" && ($0["location"] as? String)?.hasPrefix("0000:02:00.0") == true })
        let text = try simrun(["route", "topologies/nvmeof-switch-acs-on.xml", "--from", "nic0", "--to", "nvme0"])
        let result = try #require(root["result"] as? [String: Any])
        #expect(text.stdout.contains("result: \(result["verdict"] as? String ?? "?")"))
    }

    @Test("regress, conformance and check-topo-m take --format json")
    func json() throws {
        for args in [["regress", "reports/shipped-suite.xml", "--filter", "nvmeof-acs-on.acs-audit", "--format", "json"],
                     ["conformance", "--format", "json"]] {
            let r = try simrun(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            let root = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            #expect((root?["failed"] as? Int) == 0, "\(args)")
        }
    }

    @Test("shipped conformance cases are found from any working directory")
    func conformanceAnywhere() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: simrunPath)
        process.arguments = ["conformance"]
        process.currentDirectoryURL = FileManager.default.temporaryDirectory
        var env = ProcessInfo.processInfo.environment
        env["PCIESIM_ROOT"] = nil
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.contains(" passed, 0 failed"))
    }

    @Test("diff: a socket link cut from 20 to 5 GB/s is exit 1 and named")
    func diffSocketLink() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-diff-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = repositoryRoot.appendingPathComponent("topologies/gpu8-gen4-switches.xml").path
        let text = try String(contentsOfFile: original, encoding: .utf8)
        let cut = dir.appendingPathComponent("cut.xml").path
        try text.replacingOccurrences(of: "bandwidth=\"20GB/s\"", with: "bandwidth=\"5GB/s\"").write(toFile: cut, atomically: true, encoding: .utf8)
        let same = try simrun(["diff", original, original])
        #expect(same.status == 0 && same.stdout.contains("no differences"))
        let r = try simrun(["diff", original, cut])
        #expect(r.status == 1)
        #expect(r.stdout == "socket-link: socket link 0-1: xgmi 20GB/s per direction (bandwidth attribute), latency 120ns -> xgmi 5GB/s per direction (bandwidth attribute), latency 120ns\n")
        let json = try simrun(["diff", original, cut, "--format", "json"])
        #expect(json.status == 1 && json.stdout.contains("\"moves_numbers\": true") && json.stdout.contains("\"affects_p2p\": false"))
    }
}
