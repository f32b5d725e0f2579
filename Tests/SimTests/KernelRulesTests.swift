// Kernel versions as data: parsing, ordering, and the rule table the semantics asks.
import Testing
@testable import Sim

@Suite("kernel versions and rules")
struct KernelRulesTests {
    @Test("versions parse from their names, v-prefixed tags and uname strings; unknown ones are nil with the known list")
    func parsing() {
        #expect(KernelVersion(parsing: "5.15") == .linux515)
        #expect(KernelVersion(parsing: "v6.8") == .linux68)
        #expect(KernelVersion(parsing: "6.12.57+deb13-amd64") == .linux612)
        #expect(KernelVersion(parsing: "6.1.0-56-amd64") == .linux61)
        #expect(KernelVersion(parsing: "5.15.0-91-generic") == .linux515)
        #expect(KernelVersion(parsing: "6.1") == .linux61)
        #expect(KernelVersion(parsing: " mainline ") == .mainline)
        #expect(KernelVersion(parsing: "6.10") == nil, "6.10 is not 6.1")
        #expect(KernelVersion(parsing: "6.7.2") == nil)
        #expect(KernelVersion(parsing: "6") == nil)
        #expect(KernelVersion(parsing: "") == nil)
        #expect(KernelVersion(parsing: "6.x") == nil)
        guard case .failure(let e) = KernelVersion.parse("4.19") else { Issue.record("4.19 parsed"); return }
        #expect(e.description == "unknown kernel version '4.19'; known: 5.4, 5.9, 5.10, 5.15, 6.1, 6.6, 6.8, 6.11, 6.12, 6.15, 6.18, mainline (a uname string such as 6.12.57+deb13-amd64 names its release)")
    }

    @Test("versions are ordered by release, mainline last; the raw values are what the files say")
    func ordering() {
        let all = KernelVersion.allCases
        #expect(all == all.sorted())
        #expect(KernelVersion.linux59 < .linux510 && KernelVersion.linux618 < .mainline && KernelVersion.linux61 < .linux66)
        #expect(all.map(\.rawValue) == ["5.4", "5.9", "5.10", "5.15", "6.1", "6.6", "6.8", "6.11", "6.12", "6.15", "6.18", "mainline"])
        for v in all { #expect(KernelVersion(parsing: v.rawValue) == v) }
    }

    @Test("every rule has one row with a summary, a kernel file and commits; rows are found by rule")
    func table() {
        #expect(KernelRules.table.count == KernelRule.allCases.count)
        for rule in KernelRule.allCases {
            let row = KernelRules.info(rule)
            #expect(row.rule == rule)
            #expect(!row.summary.isEmpty && row.file.hasPrefix("drivers/") && !row.commits.isEmpty && !row.upstream.isEmpty, "\(rule)")
            // A commit is cited as "<12 hex> <title>" unless the row says it was not retrieved.
            for c in row.commits where !c.hasPrefix("(") {
                let id = c.prefix { $0 != " " }
                #expect(id.count == 12 && id.allSatisfy(\.isHexDigit), "\(rule): '\(c)'")
            }
        }
    }

    @Test("the rules the issue names, at their boundaries")
    func boundaries() {
        #expect(KernelVersion.linux59.has(.acsQuirkNeedsCapability))
        #expect(!KernelVersion.linux54.has(.acsQuirkNeedsCapability) && !KernelVersion.linux510.has(.acsQuirkNeedsCapability))
        #expect(!KernelVersion.linux68.has(.configACS) && KernelVersion.linux611.has(.configACS) && KernelVersion.mainline.has(.configACS))
        #expect(!KernelVersion.linux611.has(.acsConfigFromFirmwareControl))
        #expect(KernelVersion.linux612.has(.acsConfigFromFirmwareControl), "backported to 6.12.23")
        #expect(KernelVersion.linux615.has(.acsConfigFromFirmwareControl))
        #expect(!KernelVersion.linux54.has(.cpuSupportsP2PDMA) && KernelVersion.linux59.has(.cpuSupportsP2PDMA))
        #expect(KernelVersion.linux54.has(.whitelistAMDZenHostBridge) && !KernelVersion.linux59.has(.whitelistAMDZenHostBridge))
        #expect(!KernelVersion.linux515.has(.whitelistIceLakeXeon) && KernelVersion.linux61.has(.whitelistIceLakeXeon))
        #expect(!KernelVersion.linux618.has(.whitelistZhaoxin) && KernelVersion.mainline.has(.whitelistZhaoxin))
        #expect(KernelVersion.mainline.has(.acsEnableAtDMAConfigure) && !KernelVersion.linux618.has(.acsEnableAtDMAConfigure))
        #expect(!KernelRules.info(.acsEnableAtDMAConfigure).modelled)
        #expect(KernelRules.info(.acsQuirkNeedsCapability).versions == "5.9")
        #expect(KernelRules.info(.configACS).versions == "6.11+")
        #expect(KernelRules.info(.acsConfigFromFirmwareControl).versions == "6.12+")
        #expect(KernelRules.info(.whitelistAMDZenHostBridge).versions == "5.4")
        #expect(KernelRules.info(.whitelistIntelXeonE5).versions == "all")
        #expect(KernelRules.differences(.linux61, .linux612).map(\.rule) == [.configACS, .acsConfigFromFirmwareControl])
        #expect(KernelRules.differences(.linux612, .linux612).isEmpty)
    }

    @Test("the whitelist per version: 6.1 and 6.12 are Debian's (Xeon E5, Sky Lake-E, 09a2), 5.4 has AMD 1450 and no Sky Lake-E")
    func whitelist() {
        func ids(_ v: KernelVersion) -> [String] {
            HostBridgeWhitelist.entries(for: .mainline, version: v).map { "\(hex($0.vendor, 4)):\($0.device.map { hex($0, 4) } ?? "*")" }
        }
        let debian = ["8086:3c00", "8086:3c01", "8086:2f00", "8086:2f01", "8086:2030", "8086:2031", "8086:2032", "8086:2033", "8086:2020", "8086:09a2"]
        #expect(ids(.linux61) == debian)
        #expect(ids(.linux612) == debian)
        #expect(ids(.linux54) == ["1022:1450", "8086:3c00", "8086:3c01", "8086:2f00", "8086:2f01"])
        #expect(ids(.linux515) == Array(debian.dropLast()))
        #expect(ids(.mainline) == HostBridgeWhitelist.mainline.map { "\(hex($0.vendor, 4)):\($0.device.map { hex($0, 4) } ?? "*")" })
        #expect(ids(.mainline).contains("1ae0:*") && ids(.mainline).contains("1d17:1008"))
        #expect(HostBridgeWhitelist.entries(for: .p2pdmaNext, version: .mainline).last?.device == 0x0c08)
        #expect(HostBridgeWhitelist.entries(for: .p2pdmaNext, version: .linux612) == HostBridgeWhitelist.entries(for: .mainline, version: .linux612))
    }
}
