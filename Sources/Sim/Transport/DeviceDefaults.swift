// Per-device-family defaults of the transport model, from published measurements (fidelity/derivation.tsv, recomputed
// by scripts/fidelity/derive.py; docs/FIDELITY.md). A `<param>` on the device always wins.

/// One device family's defaults, matched by PCI vendor and device ID.
public struct DeviceDefault: Sendable, Hashable {
    /// The family's name in fidelity/derivation.tsv (`device.ID.peerWriteIngress`).
    public var id: String
    public var name: String
    public var vendor: UInt16
    public var devices: [UInt16]
    /// Rate at which the device accepts peer-to-peer posted writes into its BARs (`endpoint.peerWriteIngress`); nil:
    /// its link decides.
    public var peerWriteIngress: DataRate?
    public var source: String
}

public enum DeviceDefaults {
    public static let table: [DeviceDefault] = [
        DeviceDefault(
            id: "nvidia-ga102-ad102", name: "NVIDIA GA102 / AD102 (RTX 3090, A6000, A40, A10, RTX 4090, RTX 6000 Ada, L40, L40S)",
            vendor: 0x10de, devices: [0x2204, 0x2230, 0x2235, 0x2236, 0x2684, 0x26b1, 0x26b5, 0x26b9],
            peerWriteIngress: DataRate(bytesPerSecond: 25.0e9),
            source: """
                peerWriteIngress: rome-a40.p2p-bidir (8x A40 on Gen4 x16: bidirectional P2P 50.0 GB/s, 25.0 per direction, \
                NVIDIA/nccl-tests#74). These GPUs write host memory faster (device-to-host 26.2-26.8 GB/s on RTX 4090 hosts, \
                NVIDIA/nvbandwidth#15), so the limit sits where peer writes enter the GPU (BAR1), not in its copy engine.
                """),
    ]

    public static func row(for id: PCIID?) -> DeviceDefault? {
        guard let id else { return nil }
        return table.first { $0.vendor == id.vendor && $0.devices.contains(id.device) }
    }
}
