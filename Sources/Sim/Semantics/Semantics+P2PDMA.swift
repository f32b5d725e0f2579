// P2PDMA distance and map type: calc_map_type_and_dist, the host bridge gate, distance_many, find_many.

extension Semantics {
    /// `calc_map_type_and_dist(provider, client, &dist, verbose)` (drivers/pci/p2pdma.c, reference §1.3).
    ///
    /// The provider's `pci_upstream_bridge` walk (VFs replaced by their PF's bridge) is searched for the first
    /// device on the client's walk. Every device on the provider walk up to and including that common device,
    /// and every device on the client walk below it, whose ACS control word has RR, CR or EC, counts as a
    /// redirect (endpoints included; quirks not consulted). No redirect: `BUS_ADDR`. A redirect, or no common
    /// device: through the host bridge, allowed when `cpu_supports_p2pdma()` or the host bridge whitelist says
    /// so, else `NOT_SUPPORTED`. The distance counts the devices walked on both sides (same function 0, two
    /// functions under one port 2, two endpoints of a switch 4, no common device depth(P) + depth(C)); the
    /// host bridge adds nothing (v5.0 added 0x1000).
    ///
    /// With `verbose`, the warnings are the kernel's `pci_warn` lines word for word, each prefixed as
    /// `dev_printk` does: the bound driver's name when the topology names one (`nvme <BDF>: `), else the bus
    /// name (`pci <BDF>: `).
    /// The redirect list is built as the kernel builds it in a 128-byte `seq_buf`: when it overflows, the
    /// printed list is the first 127 characters and the final `;` is not removed.
    public func p2pdma(provider: Int, client: Int, verbose: Bool = true) -> P2PDMAResult {
        var warnings: [String] = []
        return calc(provider, client, verbose: verbose, &warnings)
    }

    /// `pci_p2pdma_distance(provider, client, verbose)`: the distance, or -1 when not supported.
    public func distance(provider: Int, client: Int, verbose: Bool = false) -> Int {
        distanceMany(provider: provider, clients: [.function(client)], verbose: verbose).distance
    }

    /// `pci_p2pdma_distance_many(provider, clients, n, verbose)` (reference §1.5): -1 for an empty list, for a
    /// client with no PCI ancestor (warned when verbose), or when any client is `NOT_SUPPORTED`; otherwise the
    /// sum of the distances. Without `verbose` it stops at the first unsupported client; with it, every client
    /// is evaluated so that every warning prints.
    public func distanceMany(provider: Int, clients: [P2PClient], verbose: Bool) -> P2PDistanceManyResult {
        var result = P2PDistanceManyResult(distance: -1, evaluated: [], warnings: [])
        guard !clients.isEmpty else { return result }
        var notSupported = false
        var total = 0
        for client in clients {
            guard case let .function(c) = client else {
                if case let .nonPCI(name, bus) = client, verbose {
                    result.warnings.append("\(bus) \(name): cannot be used for peer-to-peer DMA as it is not a PCI device")
                }
                return result
            }
            let r = calc(provider, c, verbose: verbose, &result.warnings)
            result.evaluated.append((c, r))
            if r.mapType == .notSupported { notSupported = true }
            if notSupported && !verbose { break }
            total += r.distance
        }
        result.distance = notSupported ? -1 : total
        return result
    }

    /// Functions with published p2pmem (`pci_has_p2pmem`), in the order `for_each_pci_dev` visits them.
    public var p2pmemProviders: [Int] {
        nodes.probeOrder.filter { $0 < nodes.functionCount && nodes.publishesP2PMem[$0] }
    }

    /// `pci_p2pmem_find_many(clients, n)` (reference §1.5): among the functions with published p2pmem, the one
    /// with the smallest `distance_many` (not verbose); ties, up to 512 (PAGE_SIZE / 8), are broken uniformly
    /// at random (`get_random_u32_below`) with the generator given, so a seed replays a choice. nil when none
    /// qualifies.
    public func p2pmemFindMany<R: RandomNumberGenerator>(clients: [P2PClient], using generator: inout R) -> Int? {
        findMany(clients: clients, using: &generator).found
    }

    /// `pci_p2pmem_find_many` with every pair it evaluated and the lines it printed.
    func findMany<R: RandomNumberGenerator>(clients: [P2PClient], using generator: inout R)
        -> (found: Int?, evaluated: [(provider: Int, client: Int, type: P2PMapType)], warnings: [String]) {
        var closest = Int.max
        var ties: [Int] = []
        var evaluated: [(provider: Int, client: Int, type: P2PMapType)] = []
        var warnings: [String] = []
        for provider in p2pmemProviders {
            let r = distanceMany(provider: provider, clients: clients, verbose: false)
            for e in r.evaluated { evaluated.append((provider, e.client, e.result.mapType)) }
            warnings.append(contentsOf: r.warnings)
            let d = r.distance
            if d < 0 || d > closest { continue }
            if d == closest && ties.count >= 512 { continue }
            if d < closest {
                ties.removeAll()
                closest = d
            }
            ties.append(provider)
        }
        guard !ties.isEmpty else { return (nil, evaluated, warnings) }
        return (ties[Int.random(in: 0..<ties.count, using: &generator)], evaluated, warnings)
    }

    /// Map types and distances for every provider/client pair, without warnings. Linear in the pairs times
    /// the walk depth; no allocation per pair.
    public func distanceMatrix(providers: [Int], clients: [Int]) -> P2PMatrix {
        var types = [P2PMapType](repeating: .unknown, count: providers.count * clients.count)
        var distances = [Int32](repeating: 0, count: providers.count * clients.count)
        var i = 0
        for p in providers {
            for c in clients {
                let core = pairCore(p, c)
                types[i] = core.type
                distances[i] = core.distance
                i += 1
            }
        }
        return P2PMatrix(providers: providers, clients: clients, mapTypes: types, distances: distances)
    }

    /// `host_bridge_whitelist(provider, client)`: the same host bridge checks its entry with
    /// `same_host_bridge`; two host bridges must both be listed without `REQ_SAME_HOST_BRIDGE`. The first
    /// device of the root bus stands for the host bridge and must be devfn 00.0 or a root port.
    public func hostBridgeWhitelisted(provider: Int, client: Int) -> Bool {
        var none: [String] = []
        return hostBridgeWhitelist(provider, client, warn: false, &none)
    }

    // MARK: - Core

    struct PairCore {
        var type: P2PMapType
        var distance: Int32
        var common: Int
        /// `acs_redirects`: the common-ancestor path found a redirect.
        var redirects: Bool
        /// Divergence-port algorithm: a translated request blocked by TB (no host bridge gate).
        var blocked = false
    }

    /// The first device on both `pci_upstream_bridge` walks, or -1.
    @inline(__always)
    func commonUpstream(_ p: Int, _ c: Int) -> Int {
        var a = p, b = c
        var da = depth[a], db = depth[b]
        while da > db {
            a = nodes.upstream[a]
            da -= 1
        }
        while db > da {
            b = nodes.upstream[b]
            db -= 1
        }
        while a != b {
            a = nodes.upstream[a]
            b = nodes.upstream[b]
        }
        return a
    }

    /// Map type and distance without strings.
    @inline(__always)
    func pairCore(_ p: Int, _ c: Int) -> PairCore {
        let common = commonUpstream(p, c)
        var core = PairCore(type: .thruHostBridge, distance: depth[p] + depth[c], common: common, redirects: false)
        if common >= 0 {
            core.distance = depth[p] + depth[c] - 2 * depth[common]
            switch options.p2pdmaAlgorithm {
            case .mainline:
                let above = nodes.upstream[common]
                let providerSide = redirectPrefix[p] - (above >= 0 ? redirectPrefix[above] : 0)
                let clientSide = redirectPrefix[c] - redirectPrefix[common]
                if providerSide + clientSide == 0 {
                    core.type = .busAddress
                    return core
                }
                core.redirects = true
            case .divergencePorts:
                switch divergenceVerdict(p, c, common) {
                case .direct:
                    core.type = .busAddress
                    return core
                case .blocked:
                    core.type = .notSupported
                    core.blocked = true
                    return core
                case .redirected:
                    core.redirects = true
                }
            }
        }
        if !cpuSupportsP2PDMA && !hostBridgeAllowed(p, c) { core.type = .notSupported }
        return core
    }

    /// The host bridge gate without warnings.
    @inline(__always)
    func hostBridgeAllowed(_ p: Int, _ c: Int) -> Bool {
        let rp = nodes.rootComplex[p], rc = nodes.rootComplex[c]
        if rp == rc { return whitelistSame[rp] == .allowed }
        return whitelistCross[rp] == .allowed && whitelistCross[rc] == .allowed
    }

    /// `host_bridge_whitelist(a, b, warn)` with its "Host bridge not in P2PDMA whitelist" lines. The check of
    /// the client's host bridge is skipped when the provider's fails (`&&`).
    func hostBridgeWhitelist(_ p: Int, _ c: Int, warn: Bool, _ warnings: inout [String]) -> Bool {
        let rp = nodes.rootComplex[p], rc = nodes.rootComplex[c]
        func check(_ r: Int, same: Bool) -> Bool {
            let v = same ? whitelistSame[r] : whitelistCross[r]
            if v == .notListed, warn, warnsWhitelistMiss {
                let root = hostBridgeDevice[r]
                let id = nodes.id[root]
                warnings.append(nodes.runtimePrefix(root) + "Host bridge not in P2PDMA whitelist: \(hex(id.vendor, 4)):\(hex(id.device, 4))")
            }
            return v == .allowed
        }
        if rp == rc { return check(rp, same: true) }
        return check(rp, same: false) && check(rc, same: false)
    }

    /// The full computation with warnings.
    func calc(_ p: Int, _ c: Int, verbose: Bool, _ warnings: inout [String]) -> P2PDMAResult {
        let core = pairCore(p, c)
        var result = P2PDMAResult(mapType: core.type, distance: Int(core.distance),
                                  commonUpstream: core.common >= 0 ? core.common : nil, acsRedirectDevices: [], warnings: [])
        let start = warnings.count
        if core.common >= 0, core.redirects {
            result.acsRedirectDevices = options.p2pdmaAlgorithm == .mainline
                ? redirectList(p, c, core.common) : divergenceRedirectList(p, c, core.common)
        }
        if core.type != .busAddress {
            let clientPrefix = nodes.runtimePrefix(c)
            if verbose, core.redirects {
                warnings.append(clientPrefix + "ACS redirect is set between the client and provider (\(nodes.bdf[p]))")
                warnings.append(clientPrefix + "to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir="
                                + Self.seqBufList(result.acsRedirectDevices.map { nodes.bdf[$0].description }))
            }
            if !core.blocked, !cpuSupportsP2PDMA {
                // cd2698d7: warn = acs_redirects, even on quiet queries; the p2pdma branch: warn = verbose.
                let warn = options.p2pdmaBranch == .mainline ? core.redirects : verbose
                if !hostBridgeWhitelist(p, c, warn: warn, &warnings), verbose {
                    warnings.append(clientPrefix + "cannot be used for peer-to-peer DMA as the client and provider (\(nodes.bdf[p])) do not share an upstream bridge or whitelisted host bridge")
                }
            }
        }
        result.warnings = Array(warnings[start...])
        return result
    }

    /// `acs_list`: provider side bottom-up including the common device, then client side bottom-up.
    func redirectList(_ p: Int, _ c: Int, _ common: Int) -> [Int] {
        var list: [Int] = []
        var a = p
        while true {
            if hasRedirect[a] { list.append(a) }
            if a == common { break }
            a = nodes.upstream[a]
        }
        var b = c
        while b != common {
            if hasRedirect[b] { list.append(b) }
            b = nodes.upstream[b]
        }
        return list
    }

    /// `seq_buf_print_bus_devfn` into `char buf[128]`, then "drop final semicolon". `seq_buf_vprintf` keeps a
    /// write only when it fits with its terminating NUL; otherwise the buffer holds the truncated text (127
    /// characters) and is marked overflowed, and the later `buffer[len-1] = 0` lands past the buffer, so the
    /// trailing `;` stays.
    static func seqBufList(_ names: [String]) -> String {
        let size = 128
        var buffer = ""
        var length = 0
        var overflowed = false
        for name in names where !overflowed {
            let entry = name + ";"
            if length + entry.utf8.count < size {
                buffer += entry
                length += entry.utf8.count
            } else {
                buffer += String(entry.utf8.prefix(size - 1 - length))!
                overflowed = true
            }
        }
        if !overflowed, !buffer.isEmpty { buffer.removeLast() }
        return buffer
    }

    // MARK: - Divergence-port algorithm (proposal)

    enum DivergenceVerdict { case direct, redirected, blocked }

    /// Leon Romanovsky's proposed ACS rework (reference §5, not merged): only the divergence ports decide.
    /// `a_child` (provider side) and `b_child` (client side) are the devices just below the common device;
    /// requests are checked at `b_child` (RR or EC redirect; for translated requests TB blocks and DT goes
    /// direct), completions at `a_child` (CR redirects unless they carry Relaxed Ordering). A translated
    /// request meeting TB anywhere between the client and the common device is `NOT_SUPPORTED`; so is one that
    /// must go up while TB is set at or above `b_child`. Control words are read raw, as mainline reads them.
    func divergenceVerdict(_ p: Int, _ c: Int, _ common: Int) -> DivergenceVerdict {
        let translated = options.tlpClass == .translated
        let tb = ACSIsolation.tb
        let (aChild, bChild) = divergenceChildren(p, c, common)
        if translated {
            var n = nodes.upstream[c]
            while n >= 0 && n != common {
                if nodes.hasACS[n] && controlWord[n] & tb != 0 { return .blocked }
                n = nodes.upstream[n]
            }
        }
        var requestDirect = true
        if let b = bChild, nodes.hasACS[b] {
            let req = controlWord[b]
            if translated && req & tb != 0 {
                requestDirect = false
            } else if translated && req & ACSIsolation.dt != 0 {
                requestDirect = true
            } else {
                requestDirect = req & (ACSIsolation.rr | ACSIsolation.ec) == 0
            }
        }
        var completionDirect = true
        if let a = aChild, nodes.hasACS[a], !options.relaxedOrderingCompletions {
            completionDirect = controlWord[a] & ACSIsolation.cr == 0
        }
        if requestDirect && completionDirect { return .direct }
        if translated, let b = bChild {
            var n = b
            while n >= 0 {
                if nodes.hasACS[n] && controlWord[n] & tb != 0 { return .blocked }
                n = nodes.upstream[n]
            }
        }
        return .redirected
    }

    func divergenceChildren(_ p: Int, _ c: Int, _ common: Int) -> (Int?, Int?) {
        func child(_ x: Int) -> Int? {
            guard x != common else { return nil }
            var n = x
            while nodes.upstream[n] != common { n = nodes.upstream[n] }
            return n
        }
        return (child(p), child(c))
    }

    /// The warning list of the proposal: `a_child` when its CR redirects, `b_child` when RR or EC does.
    func divergenceRedirectList(_ p: Int, _ c: Int, _ common: Int) -> [Int] {
        let (aChild, bChild) = divergenceChildren(p, c, common)
        var list: [Int] = []
        if let a = aChild, nodes.hasACS[a], !options.relaxedOrderingCompletions, controlWord[a] & ACSIsolation.cr != 0 { list.append(a) }
        if let b = bChild, nodes.hasACS[b], controlWord[b] & (ACSIsolation.rr | ACSIsolation.ec) != 0 { list.append(b) }
        return list
    }
}
