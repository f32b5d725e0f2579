// PCIe link capability and the trained state of a link.

/// PCIe generation 1 to 6 (PCIe Base Spec: 2.5, 5, 8, 16, 32, 64 GT/s per lane).
public enum LinkGeneration: Int, Sendable, CaseIterable, Comparable, Codable {
    case gen1 = 1, gen2, gen3, gen4, gen5, gen6

    /// Giga-transfers per second per lane.
    public var gigatransfersPerSecond: Double {
        switch self {
        case .gen1: 2.5
        case .gen2: 5
        case .gen3: 8
        case .gen4: 16
        case .gen5: 32
        case .gen6: 64
        }
    }
    /// Speed as sysfs `current_link_speed` and lspci print it.
    public var speedText: String {
        switch self {
        case .gen1: "2.5GT/s"
        case .gen2: "5GT/s"
        case .gen3: "8GT/s"
        case .gen4: "16GT/s"
        case .gen5: "32GT/s"
        case .gen6: "64GT/s"
        }
    }
    public static func < (a: LinkGeneration, b: LinkGeneration) -> Bool { a.rawValue < b.rawValue }
}

/// Lane counts a PCIe link can have.
public let supportedLinkWidths: [Int] = [1, 2, 4, 8, 12, 16, 32]

/// What one end of a link supports (LnkCap: max speed and max width).
public struct LinkCapability: Hashable, Sendable {
    public var generation: LinkGeneration
    public var width: Int
    public init(generation: LinkGeneration, width: Int) {
        self.generation = generation
        self.width = width
    }
    public var description: String { "Gen\(generation.rawValue) x\(width)" }
}

/// A trained link: what both ends support, unless the file says it trained lower (LnkSta).
public struct TrainedLink: Hashable, Sendable {
    public var generation: LinkGeneration
    public var width: Int
    /// The best both ends could do; a trained link below it is down-trained (lspci: "downgraded").
    public var capability: LinkCapability
    public var isDownTrained: Bool { generation < capability.generation || width < capability.width }
    public var description: String { "Gen\(generation.rawValue) x\(width)" }
}
