// The fidelity suite's reader, runner and verdicts, and the shape of the shipped suite (fidelity/suite.xml). CI runs
// the shipped suite itself with `simrun fidelity` (its own step), so a case leaving its band fails CI by name.
import Foundation
import Testing
import Scenarios
import Sim

private func suiteText(_ cases: String, machines: String? = nil) -> String {
    let topology = repositoryRoot.appendingPathComponent("topologies/epyc-gpus-on-root-ports.xml").path
    return """
    <?xml version="1.0" encoding="UTF-8"?>
    <fidelity name="t" version="1">
    \(machines ?? "<machine id=\"m\" topology=\"\(topology)\" cpu=\"2x EPYC 9575F\" cpu-vendor=\"amd\" gen=\"5\" source=\"https://example.org/m\">test</machine>")
    \(cases)
    </fidelity>
    """
}

private func parse(_ text: String) throws(DiagnosticError) -> FidelitySuite {
    try FidelitySuite.parse(Array(text.utf8), file: "suite.xml")
}

@Suite struct FidelityTests {
    @Test("bad suites are refused with file:line errors, every problem at once")
    func errors() {
        let text = suiteText("""
            <case id="a" machine="nope" scenario="p2p-matrix" metric="throughput" published="12GB/s" tool="t" source="s"/>
            <case id="a" machine="m" scenario="p2p-matrix" metric="latency" published="fast" tool="t" source="s"/>
            <case id="b" machine="m" scenario="p2p-matrix" metric="throughput" published="0GB/s" tool="t" source="s">
              <option name="page-size" value="8K"/>
            </case>
            """)
        do {
            _ = try parse(text)
            Issue.record("parsed")
        } catch {
            let lines = error.diagnostics.map(\.description)
            #expect(lines.contains { $0.hasPrefix("suite.xml:4: error:") && $0.contains("machine 'nope'") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("suite.xml:5: error:") && $0.contains("duplicate case id 'a'") })
            #expect(lines.contains { $0.hasPrefix("suite.xml:5: error:") && $0.contains("published=\"fast\"") })
            #expect(lines.contains { $0.hasPrefix("suite.xml:6: error:") && $0.contains("not a positive rate") })
            #expect(lines.contains { $0.hasPrefix("suite.xml:7: error:") && $0.contains("page-size") })
        }
        // The schema refuses what it can first (an unknown metric).
        do {
            _ = try parse(suiteText("<case id=\"x\" machine=\"m\" scenario=\"h2d\" metric=\"speed\" published=\"1GB/s\" tool=\"t\" source=\"s\"/>"))
            Issue.record("parsed")
        } catch {
            #expect(error.diagnostics.contains { $0.line == 4 })
        }
    }

    @Test("verdicts: within band, outside (fails), known outside, and a stale outside-band mark (fails)")
    func verdicts() throws {
        // One run of gpu0 -> gpu1 on the Turin machine; its figure is read by four cases with different published values.
        let base = "machine=\"m\" scenario=\"p2p-matrix\" metric=\"throughput\" phase=\"gpu0 -> gpu1\" tool=\"t\" source=\"s\""
        let options = "<option name=\"devices\" value=\"gpu0,gpu1\"/><option name=\"size\" value=\"2M\"/>"
        let suite = try parse(suiteText("""
            <case id="near" \(base) published="1GB/s">\(options)</case>
            <case id="far" \(base) published="1GB/s">\(options)</case>
            <case id="known" \(base) published="1GB/s">\(options)<outside-band reason="r"/></case>
            <case id="stale" \(base) published="1GB/s">\(options)<outside-band reason="r"/></case>
            <case id="nothing" machine="m" scenario="p2p-matrix" metric="throughput" phase="no such phase" published="1GB/s" tool="t" source="s">\(options)</case>
            """))
        // First learn the simulated figure, then set the published values around it.
        let probe = FidelityRunner.run(suite, filter: "near")
        let simulated = try #require(probe.first?.simulated)
        #expect(simulated > 40 && simulated < 64, "Gen5 x16 P2P write: \(simulated) GB/s")
        var adjusted = suite
        for i in adjusted.cases.indices {
            switch adjusted.cases[i].id {
            case "near", "stale": adjusted.cases[i].published = simulated * 1.05
            case "far", "known": adjusted.cases[i].published = simulated * 1.5
            default: break
            }
        }
        let results = FidelityRunner.run(adjusted, jobs: 2)
        let verdicts = Dictionary(uniqueKeysWithValues: results.map { ($0.fidelityCase.id, $0.verdict) })
        #expect(verdicts == ["near": .within, "far": .outside, "known": .knownOutside, "stale": .stale, "nothing": .error])
        #expect(results.filter(\.fails).map(\.fidelityCase.id).sorted() == ["far", "nothing", "stale"])
        let near = try #require(results.first { $0.fidelityCase.id == "near" })
        #expect(abs(try #require(near.error) - (1 / 1.05 - 1)) < 1e-9)
        let report = FidelityReport(suite: adjusted, results: results)
        #expect(report.table().hasSuffix("2 of 5 within band\n"))
        #expect(report.table().contains("FAIL far:"))
        #expect(report.json.serialized().contains("\"verdict\": \"known-outside\""))
        #expect(report.html().contains("<svg") && report.html().contains("2 of 5 within band"))
    }
}

/// The shipped suite: what issue #16 asks of it, checked on the file (CI runs it with `simrun fidelity`).
@Suite struct ShippedFidelitySuiteTests {
    let suite: FidelitySuite

    init() throws {
        let path = repositoryRoot.appendingPathComponent("fidelity/suite.xml").path
        suite = try FidelitySuite.read(path: path)
    }

    @Test("every machine's topology loads, every case names a source and a tool")
    func machinesLoad() throws {
        for m in suite.machines {
            _ = try LoadedTopology.load(path: m.topology)
            #expect(m.source.hasPrefix("http"), "\(m.id)")
        }
        for c in suite.cases {
            #expect(c.source.hasPrefix("http"), "\(c.id)")
            #expect(!c.tool.isEmpty)
        }
    }

    @Test("at least 40 measurements from at least 10 machines: Gen3, 4 and 5, Intel and AMD, switches and none, IOMMU on and off, latency and throughput")
    func coverage() {
        #expect(suite.cases.count >= 40)
        let used = Set(suite.cases.map(\.machine))
        let machines = suite.machines.filter { used.contains($0.id) }
        #expect(machines.count >= 10)
        #expect(Set(machines.map(\.generation)).isSuperset(of: [3, 4, 5]))
        #expect(Set(machines.map(\.cpuVendor)).isSuperset(of: ["intel", "amd"]))
        #expect(machines.contains { $0.switchChip == "none" } && machines.contains { $0.switchChip != "none" })
        #expect(machines.contains { $0.iommu == "on" } && machines.contains { $0.iommu == "off" || $0.iommu == "passthrough" })
        #expect(Set(suite.cases.map(\.metric)) == [.throughput, .latency])
    }

    @Test("no case comes from the sources kept apart for independent checking")
    func heldOut() {
        let text = (suite.machines.map { "\($0.source) \($0.description) \($0.cpu)" } + suite.cases.map { "\($0.source) \($0.location ?? "")" })
            .joined(separator: "\n").lowercased()
        for banned in ["e5-2620 v3", "t630", "esc8000a", "wrx90", "c-payne"] {
            #expect(!text.contains(banned), "\(banned)")
        }
    }
}

/// The defaults in the code are the ones scripts/fidelity/derive.py computes (fidelity/derived-defaults.tsv), and every
/// derivation row is a case of the suite that says so.
@Suite struct DerivedDefaultsTests {
    @Test("PlatformDefaults and link.ackWidthExponent equal fidelity/derived-defaults.tsv")
    func codeMatchesDerivation() throws {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("fidelity/derived-defaults.tsv"), encoding: .utf8)
        var derived: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "\t")
            if parts.count == 2, let v = Double(parts[1]) { derived[String(parts[0])] = v }
        }
        #expect(derived["link.ackWidthExponent"] == TransportParameters().ackWidthExponent)
        #expect(derived["fabric.duplexShare"] == PlatformDefaults.derivedDuplexShare)
        var seen = Set<String>()
        for row in PlatformDefaults.table {
            if let cap = row.rootComplexP2PRateCap {
                let key = "platform.\(row.id).rcP2PRateCap"
                seen.insert(key)
                #expect(derived[key].map { abs($0 * 1e9 - cap.bytesPerSecond) < 1e6 } == true, "\(key)")
            }
            if let latency = row.memoryLatency {
                let key = "platform.\(row.id).memoryLatency"
                seen.insert(key)
                #expect(derived[key].map { abs($0 * 1000 - Double(latency)) < 1000 } == true, "\(key)")
            }
            if let walk = row.vtdWalkLatency {
                let key = "platform.\(row.id).vtdWalkLatency"
                seen.insert(key)
                #expect(derived[key].map { abs($0 * 1000 - Double(walk)) < 1 } == true, "\(key)")
            }
            if let bw = row.socketP2PBandwidth {
                let key = "platform.\(row.id).socketP2PBandwidth"
                seen.insert(key)
                #expect(derived[key].map { abs($0 * 1e9 - bw.bytesPerSecond) < 1e6 } == true, "\(key)")
            }
        }
        #expect(derived["iommu.vtd.walkLatency"].map { abs($0 * 1000 - Double(IOMMUUnit.defaultWalkLatency(.vtd))) < 1 } == true)
        #expect(derived["iommu.vtd.walksInFlight"] == Double(PlatformDefaults.derivedVTdWalksInFlight))
        for row in DeviceDefaults.table {
            for (name, value) in [("readIssueRate", row.readIssueRate), ("writeIssueRate", row.writeIssueRate)] {
                guard let value else { continue }
                let key = "device.\(row.id).\(name)"
                seen.insert(key)
                #expect(derived[key].map { abs($0 * 1e6 - value) < 1e3 } == true, "\(key)")
            }
            if let reads = row.outstandingReads {
                let key = "device.\(row.id).outstandingReads"
                seen.insert(key)
                #expect(derived[key] == Double(reads), "\(key)")
            }
            if let launch = row.launchLatency {
                let key = "device.\(row.id).launchLatency"
                seen.insert(key)
                #expect(derived[key].map { abs($0 * 1000 - Double(launch)) < 1000 } == true, "\(key)")
            }
            if let rate = row.peerWriteIngress {
                let key = "device.\(row.id).peerWriteIngress"
                seen.insert(key)
                #expect(derived[key].map { abs($0 * 1e9 - rate.bytesPerSecond) < 1e6 } == true, "\(key)")
            }
        }
        #expect(Set(derived.keys.filter { $0.hasPrefix("platform.") || $0.hasPrefix("device.") }) == seen, "every derived value is in a table")
    }

    @Test("each derivation row is a suite case that names the default it derives, with the same figure")
    func rowsAreCases() throws {
        let suite = try FidelitySuite.read(path: repositoryRoot.appendingPathComponent("fidelity/suite.xml").path)
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("fidelity/derivation.tsv"), encoding: .utf8)
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: "\t").map(String.init)
            guard f.count >= 7 else { continue }
            let c = suite.cases.first { $0.id == f[0] }
            #expect(c?.derives == f[1], "\(f[0])")
            if let c, let v = Double(f[6]) {
                // derivation.tsv gives rates in GB/s and latencies in us; the suite keeps latencies in ns.
                let published = c.metric == .latency ? c.published / 1000 : c.published
                #expect(abs(published - v) / v < 0.001, "\(f[0]): suite \(published) vs derivation \(v)")
            }
        }
        #expect(suite.cases.filter { $0.derives != nil }.count == text.split(separator: "\n").filter { !$0.hasPrefix("#") }.count)
    }
}
