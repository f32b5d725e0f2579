// `--cmdline` and `--append-cmdline` mean what they say: the IOMMU mode follows the line, seen through groups.
import Foundation
import Testing

@Suite struct KernelLineCLITests {
    @Test("--cmdline intel_iommu=on turns the IOMMU on: groups appear where the topology's line left none")
    func intelIOMMUOn() throws {
        let off = try simrun(["groups", "topologies/nvmeof-switch-acs-on.xml"])
        #expect(off.status == 0 && off.stdout.isEmpty && off.stderr.contains("no IOMMU is active"))
        let on = try simrun(["groups", "topologies/nvmeof-switch-acs-on.xml", "--cmdline", "intel_iommu=on", "--names"])
        #expect(on.status == 0)
        #expect(on.stdout.contains("/sys/kernel/iommu_groups/0/devices/") && on.stdout.contains("nic0") && on.stdout.contains("nvme0"))
        // The topology's own line says intel_iommu=off; appending intel_iommu=on wins as the kernel's last value does.
        let appended = try simrun(["groups", "topologies/nvmeof-switch-acs-on.xml", "--append-cmdline", "intel_iommu=on"])
        #expect(appended.status == 0 && appended.stdout == on.stdout.split(separator: "\n").map { $0.split(separator: " ")[0] }.joined(separator: "\n") + "\n")
    }

    @Test("intel_iommu=on on an AMD machine is a warning, and changes nothing")
    func contradiction() throws {
        let plain = try simrun(["groups", "topologies/epyc-gpus-on-root-ports.xml"])
        let r = try simrun(["groups", "topologies/epyc-gpus-on-root-ports.xml", "--append-cmdline", "intel_iommu=on"])
        #expect(r.status == 0 && r.stdout == plain.stdout)
        #expect(r.stderr.contains("topologies/epyc-gpus-on-root-ports.xml: warning: kernel command line: intel_iommu=on has no effect: the machine has no VT-d unit"))
    }

    @Test("a run with --cmdline reports the line it simulated and routes through the IOMMU it turned on")
    func runUsesLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-cmdline-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try simrun(["run", "topologies/nvmeof-switch-acs-on.xml", "h2d", "--size", "256K", "--mode", "flow", "--no-report",
                            "--format", "json", "--append-cmdline", "intel_iommu=on"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("\"kernel_cmdline\": \"intel_iommu=off intel_iommu=on\""))
        let route = try simrun(["route", "topologies/nvmeof-switch-acs-on.xml", "--from", "nic0", "--to", "0x100000000", "--cmdline", "intel_iommu=on"])
        let plain = try simrun(["route", "topologies/nvmeof-switch-acs-on.xml", "--from", "nic0", "--to", "0x100000000"])
        #expect(route.status == 0 && plain.status == 0)
        #expect(route.stdout != plain.stdout)
    }
}
