// simrun map end to end: the shipped scripts on the simulated backend, --compare against a backend made wrong on
// purpose, and bad input.
import Foundation
import Testing

private let oracleMachine = ["--topology", "mapping/qemu-vfio.xml", "--qemu", "--address-width", "39",
                             "--device", "0000:01:00.0", "--device", "shared=0000:02:00.0"]

@Test("simrun map: every shipped script answered as expected on the simulated backend, compared with itself")
func mapShippedScripts() throws {
    let scripts = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("mapping").path)
        .filter { $0.hasSuffix(".xml") && $0 != "qemu-vfio.xml" }.sorted().map { "mapping/" + $0 }
    let r = try simrun(["map"] + scripts + oracleMachine + ["--compare", "simulated"])
    #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
    #expect(!r.stdout.contains("DIFFERS") && !r.stdout.contains("MISMATCH"))
    #expect(r.stdout.contains("answered as expected on simulated (compared with simulated)"))
}

@Test("simrun map --compare prints every call whose answer differs when one backend is wrong on purpose")
func mapCompareShowsAFault() throws {
    let r = try simrun(["map", "mapping/type1-basics.xml"] + oracleMachine + ["--compare", "simulated", "--inject-fault", "accept-overlap"])
    #expect(r.status == 1)
    // The overlapping maps of lines 19-21: the kernel's -EEXIST against the faulty backend's success.
    for line in [19, 20, 21] {
        #expect(r.stdout.contains("differs: mapping/type1-basics.xml:\(line): map "), "\(r.stdout)")
    }
    #expect(r.stdout.contains("simulated DIFFERS: ok"))
    #expect(r.stdout.contains("answered differently on simulated"))
}

@Test("simrun map: a bad script is file:line: error, exit 2, nothing run")
func mapBadScript() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-map-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("bad.xml").path
    try "<mapping-script name=\"bad\">\n  <open-group expect=\"viable\"/>\n  <map iova=\"0x1000\" size=\"0x1000\" expect=\"EWHAT\"/>\n</mapping-script>\n"
        .write(toFile: file, atomically: true, encoding: .utf8)
    let r = try simrun(["map", file] + oracleMachine)
    #expect(r.status == 2)
    #expect(r.stderr.contains("\(file):3: error: <map> expect=\"EWHAT\": unknown errno"), "\(r.stderr)")
    #expect(r.stdout.isEmpty)
}

@Test("simrun map on the vfio backend without /dev/vfio fails with a clear error, exit 2")
func mapVFIOWithoutDevice() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-map-root-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    for (backend, fragment) in [("vfio", "/dev/vfio/vfio does not exist"), ("iommufd", "/dev/iommu does not exist")] {
        let r = try simrun(["map", "mapping/type1-vaddr.xml", "--backend", backend, "--device", "0000:01:00.0", "--root", dir.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("error: --backend \(backend): ") && r.stderr.contains(fragment), "\(r.stderr)")
    }
}

@Test("simrun map --format json: every call with its answer, expectation and the compared backend's answer")
func mapJSON() throws {
    let r = try simrun(["map", "mapping/type1-limit.xml"] + oracleMachine + ["--compare", "simulated", "--inject-fault", "ignore-reserved-ranges", "--format", "json"])
    #expect(r.status == 1)
    let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
    let scripts = object?["scripts"] as? [[String: Any]]
    let calls = scripts?.first?["calls"] as? [[String: Any]]
    #expect(calls?.count == 12 && object?["ok"] as? Bool == false)
    // get-info's ranges differ (the faulty backend reserves nothing); the MSI-window map at the limit stays -ENOSPC.
    let first = calls?.first { ($0["call"] as? String) == "get-info" }
    #expect((first?["compared"] as? [String: Any])?["same"] as? Bool == false)
    let msi = calls?.first { ($0["call"] as? String)?.contains("0xfee00000") == true }
    #expect(msi?["answer"] as? String == "-ENOSPC" && (msi?["compared"] as? [String: Any])?["answer"] as? String == "-ENOSPC")
}
