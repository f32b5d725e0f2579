// The kernel command line split and read as Linux does (lib/cmdline.c next_arg, init/main.c, each handler),
// expectations worked from Debian's linux-source-6.1 and -6.12 and, for the three lines of issue #20, confirmed by
// booting them (scripts/oracle/cases.txt).
import Testing
@testable import Sim

@Suite struct KernelCommandLineTests {
    typealias A = KernelCommandLine.Argument

    @Test("next_arg: quotes, =, blanks, --")
    func nextArg() {
        let a = KernelCommandLine.arguments
        #expect(a("  intel_iommu=on\tquiet ") == [A(param: "intel_iommu", value: "on"), A(param: "quiet", value: nil)])
        // A quote that begins the value goes, with the argument's last character when that is a quote.
        #expect(a("pci=\"noats\"") == [A(param: "pci", value: "noats")])
        #expect(a("pci=\"noats") == [A(param: "pci", value: "noats")])
        // A quote inside the value stays: the kernel sees the quotes around the device.
        #expect(a("pci=disable_acs_redir=\"0000:00:01.0\"") == [A(param: "pci", value: "disable_acs_redir=\"0000:00:01.0\"")])
        // An argument quoted as a whole loses its quotes; quotes keep blanks inside one argument.
        #expect(a("\"pci=noats\" x") == [A(param: "pci", value: "noats"), A(param: "x", value: nil)])
        #expect(a("foo=\"a b\" c") == [A(param: "foo", value: "a b"), A(param: "c", value: nil)])
        #expect(a("foo=a\"b c\"d e") == [A(param: "foo", value: "a\"b c\"d"), A(param: "e", value: nil)])
        // Only the first = splits; an = at the very start does not count (equals == 0).
        #expect(a("pci=config_acs=1@00:01.0") == [A(param: "pci", value: "config_acs=1@00:01.0")])
        #expect(a("=x") == [A(param: "=x", value: nil)])
        #expect(a("foo=") == [A(param: "foo", value: "")])
        // parse_args stops at a bare --; "--=x" is not one.
        #expect(a("a -- iommu=off") == [A(param: "a", value: nil)])
        #expect(a("--=x b") == [A(param: "--", value: "x"), A(param: "b", value: nil)])
        // 0xa0 is a blank in the kernel's ctype table: a UTF-8 "à" (c3 a0) splits the argument.
        #expect(a("x=\u{e0}y").count == 2)
    }

    @Test("parameq and the __setup prefix take - and _ alike")
    func names() {
        #expect(KernelCommandLine.parameq("iommu-strict", "iommu_strict"))
        #expect(!KernelCommandLine.parameq("iommu", "iommu.strict"))
        #expect(KernelCommandLine.setupValue("intel-iommu=on", "intel_iommu=") == "on")
        #expect(KernelCommandLine.setupValue("intel_iommu", "intel_iommu=") == nil)
        let p = KernelParameters.parse(KernelConfiguration(commandLine: "intel-iommu=on iommu-strict=1"))
        #expect(p.intelIOMMU == true)
        #expect(p.strict == nil)   // iommu-strict is not iommu.strict
    }

    static func parse(_ line: String, _ version: KernelVersion = .linux61) -> KernelParameters {
        KernelParameters.parse(KernelConfiguration(commandLine: line, version: version))
    }

    @Test("pci_setup: pieces, prefixes, pcibios_setup first, unknown options")
    func pciSetup() {
        // strncmp(str, "noats", 5): any option that starts with noats.
        let noats = Self.parse("pci=noats=1")
        #expect(noats.atsDisabled)
        #expect(noats.log.map(\.text) == ["PCIe: ATS is disabled"])
        #expect(Self.parse("pci=noatsx").atsDisabled)
        #expect(!Self.parse("pci=noat").atsDisabled)
        #expect(Self.parse("pci=noat").log.map(\.text) == ["PCI: Unknown option `noat'"])
        // The quoted device stays quoted.
        #expect(Self.parse("pci=disable_acs_redir=\"0000:00:01.0\"").disableACSRedirect == "\"0000:00:01.0\"")
        #expect(Self.parse("pci=\"disable_acs_redir=0000:00:01.0\"").disableACSRedirect == "0000:00:01.0")
        // Empty pieces are skipped; pcibios_setup's options and prefix options are known; the last redir wins.
        let p = Self.parse("pci=,nommconf,,realloc=on,lastbus=3,pcie_bus_perfx,disable_acs_redir=a,disable_acs_redir=b,bogus")
        #expect(p.disableACSRedirect == "b")
        #expect(p.log.map(\.text) == ["PCI: Unknown option `bogus'"])
        // bios is 32-bit only (CONFIG_PCI_BIOS): x86-64 does not know it.
        #expect(Self.parse("pci=bios").log.map(\.text) == ["PCI: Unknown option `bios'"])
        // config_acs= is 6.11's; 6.1 reports it.
        #expect(Self.parse("pci=config_acs=xx110x@0000:00:02.0").log.map(\.text) == ["PCI: Unknown option `config_acs=xx110x@0000:00:02.0'"])
        #expect(Self.parse("pci=config_acs=xx110x@0000:00:02.0", .mainline).configACS == "xx110x@0000:00:02.0")
    }

    @Test("iommu_setup: prefixes, usedac ends the walk and the option is malformed")
    func iommuSetup() {
        let usedac = Self.parse("iommu=usedac,off")
        #expect(!usedac.iommuOff)
        #expect(usedac.log.map(\.text) == ["Malformed early option 'iommu'"])
        #expect(Self.parse("iommu=off,usedac").iommuOff)
        #expect(Self.parse("iommu=offline").iommuOff)
        #expect(Self.parse("iommu=nopt").passthrough == false)
        #expect(Self.parse("iommu=soft,pt").passthrough == true)
        #expect(Self.parse("iommu").log.map(\.text) == ["Malformed early option 'iommu'"])
        #expect(Self.parse("iommu=nodac,forcesac").log.map(\.text) == ["nodac option ignored.", "forcesac option ignored."])
        // Early parameters in order: the last of iommu=pt and iommu.passthrough wins.
        #expect(Self.parse("iommu=pt iommu.passthrough=0").passthrough == false)
        #expect(Self.parse("iommu.passthrough=0 iommu=pt").passthrough == true)
        #expect(Self.parse("iommu.strict=maybe").log.map(\.text) == ["Malformed early option 'iommu.strict'"])
        #expect(Self.parse("iommu.strict=maybe").strict == nil)
    }

    @Test("intel_iommu= and amd_iommu=: prefixes, the rest of the value in Unknown option, early lines first")
    func setupHandlers() {
        let p = Self.parse("intel_iommu=foo,,on,sm_off iommu=usedac")
        #expect(p.intelIOMMU == true)
        #expect(p.log.map(\.text) == ["Malformed early option 'iommu'", "DMAR: Unknown option - 'foo,,on,sm_off'",
                                       "DMAR: IOMMU enabled", "DMAR: Scalable mode is disallowed"])
        #expect(Self.parse("intel_iommu=\"off\"").intelIOMMU == false)
        // intel_iommu=strict runs after the early iommu.strict=0, and wins.
        #expect(Self.parse("intel_iommu=on,strict iommu.strict=0").strict == true)
        // amd_iommu: comma pieces by prefix ("offx" is off; "xoff" is not).
        #expect(Self.parse("amd_iommu=fullflush,offx").amdIOMMUDisabled)
        let x = Self.parse("amd_iommu=xoff")
        #expect(!x.amdIOMMUDisabled)
        #expect(x.log.map(\.text) == ["AMD-Vi: Unknown option - 'xoff'"])
        #expect(Self.parse("amd_iommu=nohugepages").log.map(\.text) == ["AMD-Vi: Unknown option - 'nohugepages'"])
        #expect(Self.parse("amd_iommu=nohugepages", .mainline).log.map(\.text) == ["AMD-Vi: Restricting V1 page-sizes to 4KiB"])
    }
}
