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
    public var peerWriteIngress: DataRate? = nil
    /// Read requests and posted write TLPs per second its DMA engine issues at most (`dma.readIssueRate`,
    /// `dma.writeIssueRate`); nil: no limit.
    public var readIssueRate: Double? = nil
    public var writeIssueRate: Double? = nil
    /// Read requests its DMA engine keeps in flight (`dma.outstandingReads`); nil: its tags decide.
    public var outstandingReads: Int? = nil
    /// Per DMA, launch to first TLP (`dma.launchLatency`); nil: none.
    public var launchLatency: Picoseconds? = nil
    public var source: String
}

public enum DeviceDefaults {
    public static let table: [DeviceDefault] = [
        DeviceDefault(
            id: "nvidia-gb202", name: "NVIDIA GB202 (RTX 5090, RTX PRO 6000 Blackwell)", vendor: 0x10de,
            devices: [0x2b85, 0x2bb1, 0x2bb4, 0x2bb5], launchLatency: 218_000,
            source: """
                launchLatency: turin-purplepow3r.p2p-write-latency (p2pBandwidthLatencyTest P2P=Enabled write latency 0.37 us, \
                voipmonitor/rtx6kpro) less the model's one-way write on that machine without a launch cost (0.152 us); \
                scripts/fidelity/derive.py recomputes it with simrun
                """),
        DeviceDefault(
            id: "netronome-nfp6000", name: "Netronome NFP-6000 (pcie-bench firmware)", vendor: 0x19ee, devices: [0x6000],
            writeIssueRate: 47.4e6, outstandingReads: 34,
            source: """
                outstandingReads: pb-bdw-t430.rd-64 (BW_DMA_RD of 64 B at 31.906 Gb/s on a Xeon E5-2630 v4 = 62.3 M reads/s) \
                times that host's 64 B read latency (LAT_RD 546 ns): 34 reads in flight (Little's law), so 64 B reads run \
                at 34 / latency on every host; writeIssueRate: pb-hsw-x10srg.wr-64 (BW_DMA_WR of 64 B at 24.269 Gb/s on a \
                Xeon E5-2637 v3 = 47.4 M writes/s), far below the Gen3 x8 link (the engine's limit); pcie-bench/data
                """),
        DeviceDefault(
            id: "nvidia-ga102-ad102", name: "NVIDIA GA102 / AD102 (RTX 3090, A6000, A40, A10, RTX 4090, RTX 6000 Ada, L40, L40S)",
            vendor: 0x10de, devices: [0x2204, 0x2230, 0x2235, 0x2236, 0x2684, 0x26b1, 0x26b5, 0x26b9],
            peerWriteIngress: DataRate(bytesPerSecond: 25.0e9), readIssueRate: 51.152e6, launchLatency: 1_184_000,
            source: """
                peerWriteIngress: rome-a40.p2p-bidir (8x A40 on Gen4 x16: bidirectional P2P 50.0 GB/s, 25.0 per direction, \
                NVIDIA/nccl-tests#74). These GPUs write host memory faster (device-to-host 26.2-26.8 GB/s on RTX 4090 hosts, \
                NVIDIA/nvbandwidth#15), so the limit sits where peer writes enter the GPU (BAR1), not in its copy engine. \
                launchLatency: rome-chlc-4090.p2p-write-latency and -s1 (p2pBandwidthLatencyTest P2P write latency of 8x \
                RTX 4090 on 2x EPYC 7542 within each socket, 1.195 and 1.48 us, blog.chlc.cc) less the model's one-way \
                write on that machine without a launch cost (153 ns); the median; scripts/fidelity/derive.py recomputes it. \
                readIssueRate: ad102-nvb15.h2d (8x RTX 4090, nvbandwidth host_to_device_memcpy_ce, median 26.19 GB/s, \
                NVIDIA/nvbandwidth#15) in 512 B read requests (the boards' MRRS): 51.152 M/s. The copy engine, not the \
                host: an A10 reads 25.17 GB/s from its own socket's memory and 25.13 from the other socket's (Scargall), \
                so the host's memory latency does not set the rate
                """),
        DeviceDefault(
            id: "amd-vega10", name: "AMD Vega 10 (Radeon Instinct MI25, Radeon Pro WX 8100/9100, Vega FE, RX Vega)",
            vendor: 0x1002, devices: [0x6860, 0x6861, 0x6863, 0x6868, 0x687f], readIssueRate: 26.127e6,
            source: """
                readIssueRate: bdw-e-wx8100.h2d (Radeon Pro WX 8100 on a Core i7-6900K, rocm-bandwidth-test CPU->GPU \
                13.377 GB/s, ROCm/legacy-rocm-build#787) in 512 B read requests (its MRRS): 26.127 M/s. The GPU, not \
                the host: an MI25 reads 12.562 GB/s from its own socket's memory and 12.567 from the other socket's \
                (ROCm/ROCmValidationSuite#289)
                """),
    ]

    public static func row(for id: PCIID?) -> DeviceDefault? {
        guard let id else { return nil }
        return table.first { $0.vendor == id.vendor && $0.devices.contains(id.device) }
    }
}
