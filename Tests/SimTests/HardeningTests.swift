// Issue #19's reproducers and defences in the Sim library: checked numbers at parse, the schema's bounds, the
// sysfs reader's refusals, result sets written whole.
import Foundation
import Testing
@testable import Sim

@Suite("hardening: checked numbers, sysfs refusals, atomic result sets")
struct HardeningTests {
    // MARK: Checked numbers

    @Test("durations past 10^18 ps are out of range, not a trap; malformed text is malformed", arguments: [
        ("18446744073709551616ns", NumberParseError.outOfRange(max: "1000000s")),
        ("1e300ns", .outOfRange(max: "1000000s")),
        ("inf ns", .malformed),
        ("1000001s", .outOfRange(max: "1000000s")),
        ("nanns", .malformed),
        ("-1ns", .malformed),
        ("12 parsecs", .malformed),
    ])
    func durationOutOfRange(_ text: String, _ expected: NumberParseError) {
        #expect(Duration.parseChecked(text) == .failure(expected))
        #expect(Duration.parse(text) == nil)
    }

    @Test("durations in range read as before")
    func durationInRange() {
        #expect(Duration.parse("105ns") == 105_000)
        #expect(Duration.parse("1.5us") == 1_500_000)
        #expect(Duration.parse("1000000s") == Duration.maximum)
    }

    @Test("sizes: overflow and values past the maximum are out of range; bad text is malformed")
    func sizes() {
        #expect(ByteSize.parseChecked("99999999999999999999") == .failure(.outOfRange(max: ByteSize.format(1 << 62))))
        #expect(ByteSize.parseChecked("0x1ffffffffffffffff") == .failure(.outOfRange(max: ByteSize.format(1 << 62))))
        #expect(ByteSize.parseChecked("16777216T") == .failure(.outOfRange(max: ByteSize.format(1 << 62))))
        #expect(ByteSize.parseChecked("2T", maximum: 1 << 40) == .failure(.outOfRange(max: "1T")))
        #expect(ByteSize.parseChecked("1T", maximum: 1 << 40) == .success(1 << 40))
        #expect(ByteSize.parseChecked("12Q") == .failure(.malformed))
        #expect(ByteSize.parse("16M") == 16 << 20)
        #expect(parseCount("9223372036854775808", maximum: Int.max) == .failure(.outOfRange(max: "9223372036854775807")))
        #expect(parseCount("0x10", maximum: 100) == .failure(.malformed))
    }

    /// The shipped NVMe-oF machine with one attribute replaced.
    func shippedTopology(replacing old: String, with new: String) throws -> String {
        let text = try String(contentsOfFile: repositoryRoot.appendingPathComponent("topologies/nvmeof-switch-acs-on.xml").path, encoding: .utf8)
        try #require(text.contains(old))
        return text.replacingOccurrences(of: old, with: new)
    }

    @Test("issue #19: <bar index=\"9223372036854775807\"> is a schema error with its line (it trapped in the checker's index + 1)")
    func barIndexReproducer() throws {
        let text = try shippedTopology(replacing: "<bar index=\"4\" size=\"1G\"", with: "<bar index=\"9223372036854775807\" size=\"1G\"")
        do {
            _ = try LoadedTopology(document: TopologyReader.read(text: text, file: "bar.xml"))
            Issue.record("no error")
        } catch {
            #expect(error.diagnostics.contains { $0.description.hasPrefix("bar.xml:29: error:") && $0.description.contains("9223372036854775807") })
        }
    }

    @Test("the schema bounds what the model represents: BAR index 0-5, p2pmem BAR, 64-bit addresses", arguments: [
        ("<bar index=\"4\" size=\"1G\"", "<bar index=\"6\" size=\"1G\""),
        ("<p2pmem bar=\"4\"", "<p2pmem bar=\"18446744073709551616\""),
        ("<bar index=\"0\" size=\"32M\"", "<bar index=\"0\" size=\"32M\" address=\"0xffffffffffffffff0\""),
        ("<bar index=\"0\" size=\"32M\"", "<bar index=\"-1\" size=\"32M\""),
    ])
    func schemaBounds(_ old: String, _ new: String) throws {
        let text = try shippedTopology(replacing: old, with: new)
        #expect(throws: DiagnosticError.self) { try TopologyReader.read(text: text, file: "t.xml") }
    }

    @Test("a topology built in code with BAR index Int.max is an error, not a trap")
    func checkerBARIndex() throws {
        var t = try TopologyReader.read(path: repositoryRoot.appendingPathComponent("topologies/nvmeof-switch-acs-on.xml").path).topology
        let d = try #require(t.devices.firstIndex { !$0.bars.isEmpty })
        t.devices[d].bars[0].index = Int.max
        #expect(throws: DiagnosticError.self) { try LoadedTopology(topology: t) }
    }

    @Test("a 64-bit address at the top of the range and a segment past 16 bits read without a trap")
    func readerConversions() throws {
        let top = try shippedTopology(replacing: "<bar index=\"0\" size=\"32M\"", with: "<bar index=\"0\" size=\"32M\" address=\"0xfffffffffe000000\"")
        let doc = try TopologyReader.read(text: top, file: "t.xml")
        #expect(doc.topology.devices.contains { $0.bars.contains { $0.address == 0xffff_ffff_fe00_0000 } })
        let segment = try shippedTopology(replacing: "<root-complex ", with: "<root-complex segment=\"0xffffffffffffffff\" ")
        do {
            _ = try TopologyReader.read(text: segment, file: "s.xml")
            Issue.record("no error")
        } catch {
            #expect(error.diagnostics.contains { $0.message == "segment 0xffffffffffffffff is out of range (max 65535)" })
        }
    }

    @Test("issue #19: import hwloc with pci_link_speed=\"1e308\" is a warning, not a trap (Double to Int)")
    func hwlocLinkSpeed() throws {
        let text = try String(contentsOfFile: importFixture("hwloc-odd.xml"), encoding: .utf8)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-hwloc-\(UUID().uuidString).xml")
        defer { try? FileManager.default.removeItem(at: tmp) }
        try text.replacingOccurrences(of: "pci_link_speed=\"3.3\"", with: "pci_link_speed=\"1e308\"").write(to: tmp, atomically: true, encoding: .utf8)
        let r = try HwlocImporter.read(path: tmp.path)
        #expect(r.warnings.contains { $0.message.contains("pci_link_speed") && $0.message.contains("matches no PCIe generation") })
        #expect(HwlocImporter.link(gigabytesPerSecond: .infinity) == nil)
        #expect(HwlocImporter.link(gigabytesPerSecond: 1e308) == nil)
    }

    // MARK: sysfs

    @Test("issue #19: a sysfs tree with a FIFO for config, a socket and a link out of the root imports with warnings in under a second")
    func sysfsSpecialFiles() throws {
        let fake = try FakeSysfs()
        defer { fake.remove() }
        try buildSwitchMachine(fake)
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-outside-\(UUID().uuidString)")
        try "0x1234\n".write(to: outside, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: outside) }
        let nvme = "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0/0000:03:00.0"
        // A FIFO in place of config: open(2) without O_NONBLOCK blocks forever on it.
        let config = fake.root.appendingPathComponent(nvme + "/config").path
        try FileManager.default.removeItem(atPath: config)
        try #require(mkfifo(config, 0o644) == 0)
        // A FIFO for proc/cpuinfo too, and a socket in place of vendor.
        let cpuinfo = fake.root.appendingPathComponent("proc/cpuinfo").path
        try FileManager.default.removeItem(atPath: cpuinfo)
        try #require(mkfifo(cpuinfo, 0o644) == 0)
        let vendor = fake.root.appendingPathComponent(nvme + "/vendor").path
        try FileManager.default.removeItem(atPath: vendor)
        try bindSocket(at: vendor)
        // device: a link to a file outside the root (its content must not be read).
        let device = nvme + "/device"
        try FileManager.default.removeItem(atPath: fake.root.appendingPathComponent(device).path)
        try fake.link(device, to: outside.path)
        // And proc/cmdline a relative link that climbs out with ../
        try FileManager.default.removeItem(atPath: fake.root.appendingPathComponent("proc/cmdline").path)
        try fake.link("proc/cmdline", to: "../../" + outside.lastPathComponent)

        let start = Date()
        let snapshot = try SysfsSnapshot.read(root: fake.root.path)
        let imported = try SysfsImporter.read(root: fake.root.path)
        let seconds = Date().timeIntervalSince(start)
        #expect(seconds < 1, "took \(seconds) s")
        let warnings = snapshot.diagnostics.filter { $0.severity == .warning }.map(\.message)
        #expect(warnings.contains("\(nvme)/config: a FIFO, not a regular file; not read"))
        #expect(warnings.contains("proc/cpuinfo: a FIFO, not a regular file; not read"))
        #expect(warnings.contains("\(nvme)/vendor: a socket, not a regular file; not read"))
        #expect(warnings.contains { $0.hasPrefix("\(nvme)/device: a link leads out of the root") })
        let nvmeFunction = try #require(snapshot.function(at: BDF("0000:03:00.0")!))
        #expect(nvmeFunction.id == nil)            // vendor (socket) and device (outside) not read
        #expect(nvmeFunction.config == nil)
        #expect(snapshot.cpu == nil)
        #expect(snapshot.kernelCommandLine == nil)
        #expect(warnings.contains { $0.hasPrefix("proc/cmdline: a link leads out of the root") })
        // Links inside the tree still work: the device links, iommu_group, driver, physfn.
        #expect(snapshot.functions.count == 9)
        #expect(nvmeFunction.iommuGroup == 12 && nvmeFunction.driver == "nvme")
        #expect(snapshot.function(at: BDF("0000:04:00.1")!)?.physicalFunction == BDF("0000:04:00.0"))
        #expect(!imported.topology.devices.isEmpty)
    }

    /// A Unix socket at `path` (bound at a short name, since sun_path holds 108 bytes, then renamed).
    func bindSocket(at path: String) throws {
        let short = "/tmp/pciesim-sock-\(getpid())"
        unlink(short)
        try bindShortSocket(at: short)
        try #require(rename(short, path) == 0)
    }

    func bindShortSocket(at path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        try #require(bytes.count < MemoryLayout.size(ofValue: address.sun_path))
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
    }

    // MARK: Result sets

    func folder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-set-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a result set is written whole: the manifest lists it, and verify checks every file against it")
    func fileSetWritten() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(AtomicFileSet.write([("a.csv", "1,2\n"), ("b.json", "{}\n")], to: dir, manifest: "set.manifest") == nil)
        #expect(AtomicFileSet.verify(directory: dir, manifest: "set.manifest") == ["a.csv", "b.json"])
        // A file changed behind the manifest's back: the set no longer verifies.
        try "1,3\n".write(toFile: dir + "/a.csv", atomically: true, encoding: .utf8)
        #expect(AtomicFileSet.verify(directory: dir, manifest: "set.manifest") == nil)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir)) == ["a.csv", "b.json", "set.manifest"])
    }

    @Test("a write that fails half-way (as out of disk does) leaves the previous set and its manifest untouched")
    func fileSetFailureMidway() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let old: [(name: String, contents: String)] = [("a.csv", "old a\n"), ("b.json", "old b\n"), ("c.md", "old c\n")]
        #expect(AtomicFileSet.write(old, to: dir, manifest: "set.manifest") == nil)
        // The third file's temporary cannot be created (a folder holds its name): staging fails after two files.
        try FileManager.default.createDirectory(atPath: dir + "/.c.md.tmp-\(getpid())", withIntermediateDirectories: false)
        let reason = AtomicFileSet.write([("a.csv", "new a\n"), ("b.json", "new b\n"), ("c.md", "new c\n")], to: dir, manifest: "set.manifest")
        #expect(reason?.hasPrefix(dir + "/c.md: ") == true)
        #expect(AtomicFileSet.verify(directory: dir, manifest: "set.manifest") == ["a.csv", "b.json", "c.md"])
        #expect(try String(contentsOfFile: dir + "/a.csv", encoding: .utf8) == "old a\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/.a.csv.tmp-\(getpid())"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/.b.json.tmp-\(getpid())"))
    }

    @Test("a target that is not a regular file stops the set before anything is written")
    func fileSetTargetInTheWay() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/b.json", withIntermediateDirectories: false)
        let reason = AtomicFileSet.write([("a.csv", "a\n"), ("b.json", "b\n")], to: dir, manifest: "set.manifest")
        #expect(reason == "\(dir)/b.json exists and is not a regular file")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir)) == ["b.json"])
    }
}
