// The running kernel's p2pdma state: the per-provider map type cache and the log the queries print.

/// The p2pdma queries as a running kernel answers them over time. Every `calc_map_type_and_dist` for a
/// provider with p2pdma state (a registered p2pmem resource) stores its map type in the provider's cache,
/// keyed by the client's `domain << 16 | bus << 8 | devfn`; the cache never expires, so later ACS changes
/// (setpci) do not change the answer (reference §1.3, §3). `mapType(provider:client:)` is the exported
/// `pci_p2pdma_map_type`, which computes on first use with `verbose = true`.
public struct P2PDMASession: Sendable {
    public let semantics: Semantics
    /// Cache entries by `provider * functionCount + client`.
    var cache: [Int: P2PMapType] = [:]
    /// Every warning the queries printed, in order.
    public private(set) var log: [String] = []

    public init(_ semantics: Semantics) { self.semantics = semantics }

    /// The cached map type for a pair (`UNKNOWN` when not computed yet or the provider keeps no cache).
    public func cachedMapType(provider: Int, client: Int) -> P2PMapType {
        cache[provider * semantics.nodes.functionCount + client] ?? .unknown
    }

    /// How many pairs the caches hold.
    public var cachedPairs: Int { cache.count }

    mutating func record(_ provider: Int, _ client: Int, _ type: P2PMapType) {
        guard semantics.nodes.hasP2PDMAState[provider] else { return }
        cache[provider * semantics.nodes.functionCount + client] = type
    }

    /// `calc_map_type_and_dist` for one pair, cached.
    public mutating func p2pdma(provider: Int, client: Int, verbose: Bool) -> P2PDMAResult {
        let r = semantics.p2pdma(provider: provider, client: client, verbose: verbose)
        record(provider, client, r.mapType)
        log.append(contentsOf: r.warnings)
        return r
    }

    /// `pci_p2pdma_distance_many`, cached.
    public mutating func distanceMany(provider: Int, clients: [P2PClient], verbose: Bool) -> Int {
        let r = semantics.distanceMany(provider: provider, clients: clients, verbose: verbose)
        for e in r.evaluated { record(provider, e.client, e.result.mapType) }
        log.append(contentsOf: r.warnings)
        return r.distance
    }

    /// `pci_p2pmem_find_many`, cached; ties broken with `generator`.
    public mutating func findMany<R: RandomNumberGenerator>(clients: [P2PClient], using generator: inout R) -> Int? {
        let r = semantics.findMany(clients: clients, using: &generator)
        for e in r.evaluated { record(e.provider, e.client, e.type) }
        log.append(contentsOf: r.warnings)
        return r.found
    }

    /// `pci_p2pdma_map_type(provider, dev)`: `NOT_SUPPORTED` when the provider has no p2pdma state or the
    /// device is not PCI; otherwise the cached type, computed with `verbose = true` on first use.
    public mutating func mapType(provider: Int, client: P2PClient) -> P2PMapType {
        guard semantics.nodes.hasP2PDMAState[provider], case let .function(c) = client else { return .notSupported }
        let cached = cachedMapType(provider: provider, client: c)
        if cached != .unknown { return cached }
        return p2pdma(provider: provider, client: c, verbose: true).mapType
    }
}
