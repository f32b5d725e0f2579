// `--kernel VERSION` on the commands that boot a machine, and `simrun diff A.xml --kernel X --kernel Y`.
import Foundation
import Testing

@Suite("simrun --kernel and diff between kernel versions")
struct KernelVersionCLITests {
    @Test("5.9 did not run the Intel PCH root-port quirk: diff 5.9 -> 5.10 on a shipped machine names the groups and the fix, exit 1")
    func pchQuirkRegression() throws {
        let r = try simrun(["diff", "topologies/haswell-pch-workstation.xml", "--kernel", "5.9", "--kernel", "5.10"])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.hasPrefix("topologies/haswell-pch-workstation.xml: kernel 5.9 -> 5.10\n"))
        #expect(r.stdout.contains("group: IOMMU group of nvme0: with nic0 nic1 pch-rp1 pch-rp2 pch-rp3 -> alone\n"))
        #expect(r.stdout.contains("462b58fb0339 PCI: Always enable ACS even if no ACS Capability"))
        #expect(r.stdout.contains("log: boot log + pci 0000:00:1c.0: Intel PCH root port ACS workaround enabled"))
        // The GPU on the CPU's PEG port (no ACS, no quirk) shares its port's group under both kernels.
        #expect(!r.stdout.contains("IOMMU group of gpu0"))
    }

    @Test("09a2 joined the p2pdma whitelist in 5.18: 5.15 -> 6.12 on xeon-whitelisted turns NOT_SUPPORTED into THRU_HOST_BRIDGE")
    func whitelistIceLake() throws {
        let r = try simrun(["diff", "topologies/xeon-whitelisted.xml", "--kernel", "5.15", "--kernel", "6.12.57+deb13-amd64"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("p2p: gpu1 -> gpu0: NOT_SUPPORTED distance 4 -> THRU_HOST_BRIDGE distance 4\n  rule whitelist-intel-09a2 (6.1+; feaea1fe8b36"))
        #expect(!r.stdout.contains("kernel command line"), "the version is what is compared, not an input change")
        #expect(!r.stdout.contains("group:"), "groups do not depend on the whitelist")
        // 6.1 and 6.12 have the same whitelist and the same rules for this machine's line: nothing differs.
        let same = try simrun(["diff", "topologies/xeon-whitelisted.xml", "--kernel", "6.1", "--kernel", "6.12"])
        #expect(same.status == 0)
        #expect(same.stdout == "topologies/xeon-whitelisted.xml: kernel 6.1 -> 6.12\nno differences\n")
    }

    @Test("disable_acs_redir from 6.1's kernel-enabled control to 6.12's firmware control: ACS words differ, groups and p2p do not")
    func disableACSRedirFormula() throws {
        let r = try simrun(["diff", "topologies/gpu8-gen4-switches.xml", "--kernel", "6.1", "--kernel", "6.12", "--format", "json"])
        #expect(r.status == 1, "an ACS control change is an isolation change")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let changes = try #require(json["changes"] as? [[String: Any]])
        let kinds = Set(changes.compactMap { $0["kind"] as? String })
        #expect(kinds.contains("acs") && !kinds.contains("group") && !kinds.contains("p2p"))
        let acs = try #require(changes.first { $0["kind"] as? String == "acs" })
        let rules = (acs["rules"] as? [[String: Any]] ?? []).compactMap { $0["rule"] as? String }
        #expect(rules == ["config-acs", "acs-config-fw-ctrl"])
        #expect(json["kernel_before"] as? String == "6.1" && json["kernel_after"] as? String == "6.12")
    }

    @Test("pci=config_acs= is an unknown option before 6.11: 6.8 -> 6.12 changes ACS and groups")
    func configACS() throws {
        let line = "intel_iommu=on pci=config_acs=xxx00xx@pci:10b5:8747"
        let r = try simrun(["diff", "topologies/nvmeof-switch-acs-on.xml", "--kernel", "6.8", "--kernel", "6.12", "--cmdline", line])
        #expect(r.status == 1)
        #expect(r.stdout.contains("rule config-acs (6.11+; 47c8846a49ba PCI: Extend ACS configurability)"))
        #expect(r.stdout.contains("log: boot log - PCI: Unknown option `config_acs=xxx00xx@pci:10b5:8747'"))
        #expect(r.stdout.contains("ReqRedir now clear"))
    }

    @Test("usage: one machine needs --kernel twice; an unknown version lists the known ones; --kernel on groups")
    func usage() throws {
        let one = try simrun(["diff", "topologies/vm-flat.xml", "--kernel", "6.1"])
        #expect(one.status == 1 && one.stderr.contains("--kernel twice"))
        let bad = try simrun(["groups", "topologies/vm-flat.xml", "--kernel", "6.7"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("unknown kernel version '6.7'; known: 5.4, 5.9, 5.10, 5.15, 6.1, 6.6, 6.8, 6.11, 6.12, 6.15, 6.18, mainline"))
        let five = try simrun(["groups", "topologies/haswell-pch-workstation.xml", "--kernel", "5.9"])
        #expect(five.status == 0)
        #expect(five.stdout.contains("/sys/kernel/iommu_groups/2/devices/0000:04:00.0"))
        let ten = try simrun(["groups", "topologies/haswell-pch-workstation.xml", "--kernel", "v5.10.0-28-amd64"])
        #expect(ten.stdout.contains("/sys/kernel/iommu_groups/7/devices/0000:04:00.0"))
    }
}
