// simbench: named performance benchmarks of the simulator; `simbench [name|all|list]`.
// Figures print one line each: `<area> <what> (<parameters>): <value> <unit>`.
// Build in release mode: `swift run -c release simbench hold`. Numbers are recorded in docs/PERFORMANCE.md.

import Sim
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A benchmark: a name to select it on the command line and a function that prints its figures.
struct Benchmark {
    var name: String
    var summary: String
    var run: () throws -> Void
}

let benchmarks: [Benchmark] = [
    Benchmark(name: "hold", summary: "engine hold model: 10,000 pending events, Exp(1)*1e6 ps increments", run: holdBenchmark),
    Benchmark(name: "hold-sizes", summary: "engine hold model at 100, 1,000, 100,000 and 1,000,000 pending", run: holdSizesBenchmark),
    Benchmark(name: "semantics", summary: "IOMMU groups + all-pairs p2pdma matrix of a generated 1,024-endpoint machine", run: semanticsBenchmark),
    Benchmark(name: "topology", summary: "parse + validate + enumerate a generated 10,240-endpoint topology, and peak memory", run: topologyBenchmark),
    Benchmark(name: "transport", summary: "transport model: 1 GiB DMA write through one Gen4 x16 switch, events/s, memory", run: transportBenchmark),
    Benchmark(name: "flow-vs-tlp", summary: "every shipped topology x built-in scenario (16 MiB flows) run by the TLP model and by the flow model", run: { try flowVersusTLPBenchmark() }),
    Benchmark(name: "flow-vs-tlp-gpu64", summary: "GPUDirect RDMA on a generated 64-GPU, 8-NIC machine (1,024 flows) by the TLP and the flow model", run: { try flowVersusTLPGPU64Benchmark() }),
    Benchmark(name: "transport-simpy", summary: "the tools/simpy_link.py transfer (64 MiB, Gen4 x16, MPS 256) through the transport model", run: { try transportSimPyComparison(bytes: 64 << 20) }),
]

// MARK: - Engine

/// The event of the hold model: a token carried from one event to the next.
struct HoldEvent {
    var token: UInt32
}

/// How the hold model draws its Exp(1) increments.
enum ExponentialMethod {
    /// The engine's `nextExponential()` (ziggurat).
    case ziggurat
    /// -ln(1 - U), the method of `std::exponential_distribution` in the C++ reference hold model, to
    /// compare the event loop and queue alone with it.
    case inversion
}

/// The classic hold model (Vaucher & Duval 1975): `pending` events in the queue; each step handles the
/// earliest and schedules one at now + Exp(1) * 1e6 ps, so the queue size stays constant. Returns the
/// elapsed times and a checksum of the handled times (so the work cannot be elided, and runs with the
/// same seed can be compared).
func holdModel<Queue: EventQueue>(_: Queue.Type, pending: Int, steps: Int, exponential: ExponentialMethod, seed: UInt64 = 42)
    throws -> (elapsed: Stopwatch.Reading, checksum: UInt64) where Queue.Event == HoldEvent
{
    var sim = SimulationEngine<Queue>(seed: seed)
    for i in 0..<pending {
        try sim.schedule(HoldEvent(token: UInt32(truncatingIfNeeded: i)), at: Picoseconds(sim.random.nextExponential() * 1e6))
    }
    var checksum: UInt64 = 0
    let stopwatch = Stopwatch()
    try sim.run(maxEvents: steps) { sim, event throws(SchedulingError) in
        checksum &+= UInt64(sim.now)
        let increment = switch exponential {
        case .ziggurat: sim.random.nextExponential()
        case .inversion: -log(1 - sim.random.nextUnitInterval())
        }
        try sim.schedule(event, after: Picoseconds(increment * 1e6))
    }
    let elapsed = stopwatch.reading()
    precondition(sim.eventsHandled == steps && sim.pendingCount == pending)
    return (elapsed, checksum)
}

func printHold<Queue: EventQueue>(_ type: Queue.Type, label: String, pending: Int, steps: Int,
                                  exponential: ExponentialMethod = .ziggurat) throws where Queue.Event == HoldEvent
{
    let result = try holdModel(type, pending: pending, steps: steps, exponential: exponential)
    let method = exponential == .inversion ? ", Exp by inversion" : ""
    print(figure("engine hold-model (\(pending) pending, \(label)\(method))", count: steps, unit: "events", result.elapsed)
        + ", checksum \(result.checksum % 1000))")
}

/// The figure to compare with the C++ reference (holdmodel.cpp: std::priority_queue, mt19937_64,
/// exponential_distribution, 10,000 pending), for each queue, plus the default queue with the C++
/// model's variate method so the gain of the queue and of the variate can be told apart.
func holdBenchmark() throws {
    let steps = 30_000_000
    try printHold(RadixEventQueue<HoldEvent>.self, label: "radix", pending: 10_000, steps: steps)
    try printHold(QuaternaryHeapEventQueue<HoldEvent>.self, label: "4-ary heap", pending: 10_000, steps: steps)
    try printHold(BinaryHeapEventQueue<HoldEvent>.self, label: "binary heap", pending: 10_000, steps: steps)
    try printHold(RadixEventQueue<HoldEvent>.self, label: "radix", pending: 10_000, steps: steps, exponential: .inversion)
}

func holdSizesBenchmark() throws {
    for pending in [100, 1_000, 100_000, 1_000_000] {
        let steps = 10_000_000
        try printHold(RadixEventQueue<HoldEvent>.self, label: "radix", pending: pending, steps: steps)
        try printHold(QuaternaryHeapEventQueue<HoldEvent>.self, label: "4-ary heap", pending: pending, steps: steps)
        try printHold(BinaryHeapEventQueue<HoldEvent>.self, label: "binary heap", pending: pending, steps: steps)
    }
}

// MARK: - Measuring and formatting

/// Measures the CPU time of this process and the wall-clock time. The figures quote CPU time: the
/// benchmark is single-threaded, and on a shared machine CPU time excludes the time other processes
/// hold the core, which wall-clock time does not (it is printed beside it).
struct Stopwatch {
    struct Reading {
        var cpuSeconds: Double
        var wallSeconds: Double
    }

    let startCPU = Stopwatch.seconds(CLOCK_PROCESS_CPUTIME_ID)
    let startWall = Stopwatch.seconds(CLOCK_MONOTONIC)

    func reading() -> Reading {
        Reading(cpuSeconds: Self.seconds(CLOCK_PROCESS_CPUTIME_ID) - startCPU,
                wallSeconds: Self.seconds(CLOCK_MONOTONIC) - startWall)
    }

    static func seconds(_ clock: clockid_t) -> Double {
        var t = timespec()
        clock_gettime(clock, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

/// `<name>: 21.4 M events/s (CPU time; wall-clock 19.8 M/s, 30M events`
func figure(_ name: String, count: Int, unit: String, _ elapsed: Stopwatch.Reading) -> String {
    let cpuRate = Double(count) / elapsed.cpuSeconds
    let wallRate = Double(count) / elapsed.wallSeconds
    return "\(name): \(formatMillions(cpuRate)) M \(unit)/s (CPU time; wall-clock \(formatMillions(wallRate)) M/s, "
        + "\(count / 1_000_000)M \(unit)"
}

/// Millions with one decimal, e.g. `21.4`.
func formatMillions(_ value: Double) -> String {
    let tenths = Int((value / 1e5).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

func printError(_ message: String) {
    var text = message.hasSuffix("\n") ? message : message + "\n"
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

func usage(_ benchmarks: [Benchmark]) -> String {
    var text = "usage: simbench [all | list | NAME]\n\nbenchmarks:\n"
    for benchmark in benchmarks {
        text += "  " + benchmark.name.padding(to: 12) + benchmark.summary + "\n"
    }
    return text
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

let arguments = CommandLine.arguments.dropFirst()
let selection = arguments.first ?? "all"
if selection == "topology-load", let path = arguments.dropFirst().first {
    do { try topologyLoadBenchmark(path: path) } catch {
        printError("simbench: error: topology-load: \(error)")
        exit(1)
    }
    exit(0)
}
let selected: [Benchmark]
switch selection {
case "all":
    selected = benchmarks
case "list", "-h", "--help", "help":
    print(usage(benchmarks), terminator: "")
    exit(0)
default:
    guard let benchmark = benchmarks.first(where: { $0.name == selection }) else {
        printError("simbench: error: no benchmark named '\(selection)'\n" + usage(benchmarks))
        exit(64)
    }
    selected = [benchmark]
}
for benchmark in selected {
    do {
        try benchmark.run()
    } catch {
        printError("simbench: error: \(benchmark.name): \(error)")
        exit(1)
    }
}
