// Physical switch chips split into several virtual switches (partitions), and links between chips.
//
// Broadcom PEX88000/PEX89000 and Microchip Switchtec PFX/PSX chips can be configured as several virtual switches,
// each with its own upstream port, and the host then enumerates each partition as a switch of its own under its
// own root port. Whether a TLP from one partition to another leaves the chip through the partition's upstream
// link (and comes back through the root complex) or crosses inside the chip depends on the chip's mode:
// - `partitioned`: partitions are isolated hierarchies (Broadcom "base mode" multi-host, Switchtec "PAX"-less
//   partitioning): cross-partition traffic goes up through the root complex, as if the switches were separate.
// - `fabric`: the chip's management firmware programs address routing between partitions (Broadcom PEX89000
//   "synthetic" / fabric mode, Switchtec PAX with a fabric): cross-partition P2P is switched inside the chip,
//   with the chip's internal latency and switching capacity, and can continue over chip-to-chip links.
// Linux does not see any of this: it enumerates each partition as an ordinary switch, so p2pdma's distance and
// map type are unchanged; only the hardware path (Router, transport) differs.

/// How a partitioned chip forwards traffic between its virtual switches.
public enum SwitchChipRouting: String, Sendable, Hashable, CaseIterable {
    case partitioned, fabric
}

/// One physical switch chip; switches name it with their `chip` attribute.
public struct SwitchChip: Hashable, Sendable {
    public var name: String
    public var routing: SwitchChipRouting
    /// Port-to-port latency across the chip's internal fabric between partitions. nil: the cut-through latency of
    /// a switch of the generation of the source partition's upstream link (reference §4: 105 ns Gen4 PEX88000,
    /// 115 ns Gen5 PEX89144, ~150 ns Gen3).
    public var latency: Picoseconds?
    /// Switching capacity of the internal fabric per direction for cross-partition traffic. nil: not a bottleneck
    /// (the chips are non-blocking at their port count: PEX89144 144 lanes of Gen5 ≈ 576 GB/s aggregate).
    public var bandwidth: DataRate?
    public init(name: String, routing: SwitchChipRouting = .partitioned, latency: Picoseconds? = nil, bandwidth: DataRate? = nil) {
        self.name = name
        self.routing = routing
        self.latency = latency
        self.bandwidth = bandwidth
    }
}

/// A link between two chips' fabric ports (cascaded switches linked to each other rather than through a host).
public struct ChipLink: Hashable, Sendable {
    public var a: String
    public var b: String
    public var generation: LinkGeneration
    public var width: Int
    /// Flight and PHY latency added per crossing. Default 0 (as `link.latency`).
    public var latency: Picoseconds
    public init(a: String, b: String, generation: LinkGeneration, width: Int, latency: Picoseconds = 0) {
        self.a = a
        self.b = b
        self.generation = generation
        self.width = width
        self.latency = latency
    }
}
