// Issue #19 in the Scenarios library: checked numbers in scenario and plan files, work limits with their
// messages, and runs cut into slices that give the same answer as one run.
import Foundation
import Sim
import Testing
@testable import Scenarios

@Suite("hardening: scenario and plan numbers, work limits")
struct ScenarioHardeningTests {
    func runner(_ name: String = "xeon-whitelisted") throws -> WorkloadRunner {
        try WorkloadRunner(try LoadedTopology.load(path: topologyPath(name)))
    }

    func parse(_ dma: String, limits: WorkLimits = .default, runner r: WorkloadRunner) throws(DiagnosticError) -> Workload {
        let xml = "<scenario name=\"s\" version=\"1\">\n<phase name=\"p\">\n\(dma)\n</phase></scenario>"
        return try ScenarioFile.parse(Array(xml.utf8), file: "s.xml", fabric: r.fabric, limits: limits)
    }

    func errors(_ dma: String, limits: WorkLimits = .default) throws -> [String] {
        let r = try runner()
        do {
            _ = try parse(dma, limits: limits, runner: r)
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test("issue #19: start=\"18446744073709551616ns\" is out of range with its line (Double to Int64 trapped)")
    func startReproducer() throws {
        #expect(try errors("<dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"4K\" start=\"18446744073709551616ns\"/>")
                == ["s.xml:3: error: <dma> start 18446744073709551616ns is out of range (max 1000000s)"])
    }

    @Test("repeat, count, queue-depth and seed past their range are errors, never a silent 1 or a trap")
    func countsOutOfRange() throws {
        // The schema rejects first where it can (repeat past Int, queue-depth past 65536), with the line.
        #expect(try errors("<dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"4K\" repeat=\"100000000000000000000\"/>")
                == ["s.xml:3: error: Element 'dma', attribute 'repeat': [facet 'maxInclusive'] The value '100000000000000000000' is greater than the maximum value allowed ('9223372036854775807')."])
        #expect(try errors("<dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"4K\" count=\"100001\"/>")
                == ["s.xml:3: error: <dma> count 100001 is out of range (max 100000)"])
        #expect(try errors("<dma from=\"gpu0\" to=\"host\" op=\"read\" size=\"4K\" queue-depth=\"99999999999\"/>")
                == ["s.xml:3: error: Element 'dma', attribute 'queue-depth': [facet 'maxInclusive'] The value '99999999999' is greater than the maximum value allowed ('65536')."])
        #expect(try errors("<dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"4K\" repeat=\"9000000000000000000\"/>")
                == ["s.xml:3: error: <dma> size x repeat (4096 x 9000000000000000000 bytes) is out of range (max 9223372036854775807 bytes)"])
        #expect(try errors("<dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"0xfffffffffffffffff\"/>")
                == ["s.xml:3: error: <dma> size 0xfffffffffffffffff is out of range (max 1T)"])
    }

    @Test("issue #19: a scenario asking for 10^12 TLPs stops at the limit at once, naming its line and the flag")
    func tenToTheTwelveTLPs() throws {
        let start = Date()
        let found = try errors("<dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"1T\" repeat=\"1000\" count=\"4\"/>")
        #expect(Date().timeIntervalSince(start) < 1)
        // 1 TiB x 1000 x 4 in TLPs of at most 4096 bytes: 2^40 * 4000 / 2^12 = 1,073,741,824,000 TLPs.
        #expect(found == ["s.xml:3: error: <dma> size=\"1T\" x repeat=\"1000\" x count=\"4\" needs at least 1073741824000 TLPs, "
                          + "over the limit of 1000000000 events (raise with --max-events)"])
        // Raised past it, the same file reads (and would run).
        #expect(try errors("<dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"1T\" repeat=\"1000\" count=\"4\"/>",
                           limits: WorkLimits(maxEvents: Int.max)).isEmpty)
    }

    @Test("flows per phase and phases per file have limits too")
    func flowAndPhaseLimits() throws {
        var limits = WorkLimits()
        limits.maxFlows = 3
        #expect(try errors("<dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"4K\" count=\"2\"/>\n<dma from=\"gpu1\" to=\"host\" op=\"write\" size=\"4K\" count=\"2\"/>",
                           limits: limits)
                == ["s.xml:4: error: <dma> count=\"2\" makes 4 DMA operations in phase 'p', over the limit of 3 (raise with --max-flows)"])
        let r = try runner()
        limits = WorkLimits()
        limits.maxPhases = 1
        let two = "<scenario name=\"s\" version=\"1\">\n<phase name=\"a\"><dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"4K\"/></phase>\n"
            + "<phase name=\"b\"><dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"4K\"/></phase>\n</scenario>"
        do {
            _ = try ScenarioFile.parse(Array(two.utf8), file: "two.xml", fabric: r.fabric, limits: limits)
            Issue.record("no error")
        } catch {
            #expect(error.diagnostics.map(\.description) == ["two.xml:3: error: 2 phases, over the limit of 1 (raise with --max-phases)"])
        }
    }

    @Test("a run past the event limit stops with the phase, the counts and the flag; under it, the slices give run()'s exact result")
    func eventLimitAtRunTime() throws {
        var r = try runner()
        let workload = try parse("<dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"4M\"/>", runner: r)
        let whole = try r.run(workload)
        let events = try #require(whole.phases[0].transport?.eventsHandled)
        r.limits.maxEvents = events / 2
        do {
            _ = try r.run(workload)
            Issue.record("no error")
        } catch {
            #expect(error.exceededLimit)
            #expect(error.problems.count == 1)
            #expect(error.problems[0].hasPrefix("phase 'p': stopped after \(events / 2) events at simulated time "))
            #expect(error.problems[0].hasSuffix("with 1 of 1 flows unfinished: over the limit of \(events / 2) events (raise with --max-events)"))
        }
        // Exactly enough events, and slices smaller than the run: the same transport result as one call.
        r.limits.maxEvents = events
        let sliced = try r.run(workload)
        #expect(sliced.phases[0].transport?.eventsHandled == events)
        #expect(sliced.phases[0].transport?.endTime == whole.phases[0].transport?.endTime)
        #expect(sliced.phases[0].transport?.flows.map(\.bytes) == whole.phases[0].transport?.flows.map(\.bytes))
    }

    @Test("a TLP run cut into slices of 997 events gives exactly the result of one run", arguments: ["write", "read"])
    func slicesAreInvisible(_ op: String) throws {
        let r = try runner("gpu8-gen4-switches")
        let e = r.fabric.enumeration
        let gpu0 = try #require(e.lookup("gpu0")), gpu1 = try #require(e.lookup("gpu1")), gpu4 = try #require(e.lookup("gpu4"))
        let operation: TransportFlow.Operation = op == "read" ? .read : .write
        let flows = [TransportFlow(requester: gpu0, target: .peer(function: gpu1), operation: operation, bytes: 2 << 20),
                     TransportFlow(requester: gpu4, target: .memory(0x1_0000_0000), operation: operation, bytes: 1 << 20, start: 5_000_000)]
        var one = try TransportSimulation(fabric: r.fabric, flows: flows)
        var sliced = try TransportSimulation(fabric: r.fabric, flows: flows)
        let a = try one.run()
        let b = try sliced.run(within: WorkLimits(), sliceEvents: 997)
        #expect(a.eventsHandled > 997 * 3)
        #expect(a.eventsHandled == b.eventsHandled && a.endTime == b.endTime && a.isComplete && b.isComplete)
        #expect(a.flows.map(\.bytes) == b.flows.map(\.bytes))
        #expect(a.flows.map(\.completionTime) == b.flows.map(\.completionTime))
        #expect(a.flows.map { $0.latency.value(atQuantile: 0.99) } == b.flows.map { $0.latency.value(atQuantile: 0.99) })
        #expect(a.links.map(\.busyTime) == b.links.map(\.busyTime))
        #expect(a.links.map(\.creditStallTime) == b.links.map(\.creditStallTime))
        #expect(a.links.map(\.meanQueueTLPs) == b.links.map(\.meanQueueTLPs))
    }

    @Test("a run that reaches past the simulated-time limit stops with the flag")
    func simulatedTimeLimit() throws {
        var r = try runner()
        r.limits.maxSimulatedTime = 1_000_000   // 1 us; 4 MiB at Gen3/Gen4 rates takes far longer
        let workload = try parse("<dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"4M\"/>", runner: r)
        do {
            _ = try r.run(workload)
            Issue.record("no error")
        } catch {
            #expect(error.exceededLimit)
            #expect(error.problems.count == 1 && error.problems[0].hasPrefix("phase 'p': stopped at simulated time ")
                    && error.problems[0].hasSuffix("over the simulated-time limit of 1000ns (raise with --max-sim-time)"))
        }
        #expect(try errors("<dma from=\"gpu0\" to=\"host\" op=\"write\" size=\"4K\" start=\"2ms\"/>", limits: r.limits)
                == ["s.xml:3: error: <dma> start 2ms is past the simulated-time limit of 1000ns (raise with --max-sim-time)"])
    }

    @Test("issue #19: a plan axis value of 1e300ns is out of range with its line (Double to Int64 trapped)")
    func planAxisReproducer() {
        let plan = """
            <plan name="p">
              <base><generate name="g" root-ports="2" switch-levels="1" gpus="2" nics="1" nvme="0"/></base>
              <axis name="lat" kind="switch-latency">
                <value>1e300ns</value>
              </axis>
              <axis name="tlb" kind="iotlb-entries"><value>99999999999999999999</value></axis>
              <scenario name="gpudirect-rdma" size="4MiB"/>
              <metric name="m" from="gpu" to="nic" aggregate="min"/>
            </plan>
            """
        do {
            _ = try Plan.parse(Array(plan.utf8), file: "p.xml")
            Issue.record("no error")
        } catch {
            let found = error.diagnostics.map(\.description)
            #expect(found.contains("p.xml:4: error: axis 'lat': 1e300ns is out of range (max 1000000s)"))
            #expect(found.contains("p.xml:6: error: axis 'tlb': 99999999999999999999 is out of range (max 1048576)"))
        }
    }

    @Test("a suite's seed past 64 bits and a distance past Int are schema errors, not a silent default")
    func suiteNumbers() {
        let text = "<suite name=\"s\" version=\"1\">\n<case name=\"a\" topology=\"x.xml\" scenario=\"h2d\" seed=\"18446744073709551616\">\n"
            + "<expect-p2p provider=\"a\" client=\"b\" map-type=\"BUS_ADDR\" distance=\"99999999999999999999\"/>\n</case>\n</suite>"
        do {
            _ = try Suite.parse(Array(text.utf8), file: "s.xml")
            Issue.record("no error")
        } catch {
            let found = error.diagnostics.map(\.description)
            #expect(found.contains { $0.hasPrefix("s.xml:2: error:") && $0.contains("'seed'") && $0.contains("18446744073709551616") })
            #expect(found.contains { $0.hasPrefix("s.xml:3: error:") && $0.contains("'distance'") && $0.contains("99999999999999999999") })
        }
    }

    @Test("a plan whose grid overflows Int is refused, not trapped")
    func planGridOverflow() {
        let values = (0..<1024).map { "<value>\($0)</value>" }.joined()
        let axes = (0..<8).map { "<axis name=\"a\($0)\" kind=\"cmdline\">\(values)</axis>" }.joined(separator: "\n")
        let plan = """
            <plan name="p">
              <base><generate name="g" root-ports="2" switch-levels="1" gpus="2" nics="1" nvme="0"/></base>
            \(axes)
              <scenario name="gpudirect-rdma" size="4MiB"/>
              <metric name="m" from="gpu" to="nic" aggregate="min"/>
            </plan>
            """
        do {
            _ = try Plan.parse(Array(plan.utf8), file: "p.xml")
            Issue.record("no error")
        } catch {
            #expect(error.diagnostics.contains { $0.message.hasPrefix("the grid has more than 1,000,000 points") })
        }
    }

    @Test("an ftrace capture longer than the line limit stops at the first line past it")
    func traceLineLimit() {
        var limits = WorkLimits()
        limits.maxTraceLines = 3
        let text = (0..<5).map { " kworker-1 [000] ..... 1.\($0): map: IOMMU: iova=0x\($0)000 - 0x\($0 + 1)000 paddr=0x1000 size=4096" }.joined(separator: "\n")
        do {
            _ = try FtraceTrace.parse(text, file: "t.txt", limits: limits)
            Issue.record("no error")
        } catch {
            #expect(error.diagnostics.map(\.description) == ["t.txt:4: error: the capture has more than 3 lines, the limit (raise with --max-trace-lines)"])
        }
    }

    @Test("a capture whose maps add up to more pages than the event limit is refused at that line")
    func tracePageLimit() {
        let text = " kworker-1 [000] ..... 1.0: map: IOMMU: iova=0x1000000 - 0x0 paddr=0x1000000 size=18446744073709547520"
        do {
            _ = try FtraceTrace.parse(text, file: "t.txt")
            Issue.record("no error")
        } catch {
            #expect(error.diagnostics.map(\.description)
                    == ["t.txt:1: error: iommu:map size=18446744073709547520: the capture maps more than 1000000000 4K pages in all, over the limit of 1000000000 events (raise with --max-events)"])
        }
    }

    @Test("trace replay: the peak working set is the live set at the peak (rebuilt once, not copied at each new peak)")
    func tracePeakRebuilt() throws {
        let r = try runner()
        let nvme = try #require(r.fabric.enumeration.lookup("nvme0"))
        // Live sets: {a}, {a,b} (peak, 3 pages), {b}, {b,c}: 2 pages, below the peak.
        let text = """
             k-1 [000] ..... 1.0: map: IOMMU: iova=0x10000 - 0x11000 paddr=0x100000 size=4096
             k-1 [000] ..... 1.1: map: IOMMU: iova=0x20000 - 0x22000 paddr=0x200000 size=8192
             k-1 [000] ..... 1.2: unmap: IOMMU: iova=0x10000 - 0x11000 size=4096 unmapped_size=4096
             k-1 [000] ..... 1.3: map: IOMMU: iova=0x30000 - 0x31000 paddr=0x300000 size=4096
            """
        let trace = try FtraceTrace.parse(text, file: "t.txt")
        let result = try r.replay(TraceReplayRequest(trace: trace, device: nvme))
        #expect(result.phases[0].phase.name == "peak working set (12K in 2 mappings)")
        #expect(result.phases[0].operations.map(\.operation.bufferBytes) == [4096, 8192])
    }
}
