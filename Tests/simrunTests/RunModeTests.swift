// `simrun run` answers in seconds by default: auto mode (the flow model where it claims the phase), a summary line
// that says which phases have no latency percentiles and why, and a note before a long TLP-by-TLP phase.
import Foundation
import Testing

@Suite struct RunModeTests {
    @Test("run defaults to auto: flow-claimed phases print rates without percentiles and say so; --mode tlp measures them")
    func autoIsTheDefault() throws {
        let auto = try simrun(["topologies/workstation-no-acs.xml", "h2d", "--size", "16M", "--no-report"])
        #expect(auto.status == 0)
        #expect(auto.stdout.contains("steady-state rates from the flow model, no latency percentiles (--mode tlp simulates TLP by TLP)"))
        let tlp = try simrun(["topologies/workstation-no-acs.xml", "h2d", "--size", "16M", "--no-report", "--mode", "tlp"])
        #expect(tlp.status == 0)
        #expect(!tlp.stdout.contains("steady-state rates from the flow model"))
        // The same rates either way (the flow model claims only what it reproduces within 3 %).
        func rates(_ text: String) -> [Double] {
            text.split(separator: "\n").filter { $0.contains(" read ") || $0.contains(" write ") }
                .compactMap { line in line.split(separator: " ").compactMap { Double($0) }.first }
        }
        let a = rates(auto.stdout), t = rates(tlp.stdout)
        #expect(!a.isEmpty && a.count == t.count)
        for (x, y) in zip(a, t) { #expect(abs(x / y - 1) < 0.03, "\(x) vs \(y)") }
    }

    @Test("a long TLP-by-TLP phase is announced on stderr with its size and what answers sooner")
    func longRunNote() throws {
        let r = try simrun(["topologies/workstation-no-acs.xml", "h2d", "--size", "1G", "--no-report", "--mode", "tlp", "--max-events", "1000"])
        #expect(r.status == 1)   // stopped by --max-events right after the note
        #expect(r.stderr.contains("note: phase 'host -> gpu0' runs TLP by TLP, about 6.3 M TLPs (--mode tlp; --mode auto uses the flow model"))
        #expect(!r.stdout.contains("note:"))
    }
}
