// Exports a topology as a QEMU 7.2 q35 command line (`simrun export qemu`), for the kernel oracle.

/// Builds the QEMU command line of a machine: q35 with `intel-iommu`, `pcie-root-port`s (multifunction through
/// `addr=S.F`, `disable-acs=on` for ports without ACS), `x3130-upstream`/`xio3130-downstream` switches,
/// `pcie-pci-bridge`s with conventional functions below, `nvme` (with `cmb_size_mb` for a CMB), `e1000e` (with the
/// topology's subsystem ID), `e1000`, `virtio-net-pci` and `virtio-blk-pci` endpoints. Every function keeps the
/// subsystem ID QEMU gives it in the guest topology, so `pci:vvvv:dddd:ssss:ssss` device specifiers match there as
/// in the guest.
///
/// Every device gets the BDF the enumerator gave it: `addr=` pins device and function, and SeaBIOS numbers
/// buses depth-first in device order as `Enumerator` does (checked here). What QEMU cannot build at all (a
/// second host bridge, SR-IOV, GPUs) is an error, every one reported at once; what it
/// builds differently (IDs, ACS capabilities, firmware ACS control, link speeds, BAR layout) is an
/// approximation, listed, and applied to `QEMUMachine.guestTopology`.
///
/// ```swift
/// let machine = try QEMUExport.machine(loaded, options: QEMUExportOptions(kernel: "vmlinuz"))
/// print(machine.script)
/// ```
public enum QEMUExport {
    public static func machine(_ loaded: LoadedTopology, options: QEMUExportOptions = QEMUExportOptions()) throws(DiagnosticError) -> QEMUMachine {
        var state = QEMUExportState(loaded, options)
        state.run()
        try state.bag.throwIfErrors()
        return QEMUMachine(arguments: state.arguments, guestTopology: state.guest, approximations: state.bag.warnings,
                           kernelCommandLine: state.commandLine)
    }

    /// The largest `chassis` number (`uint8`): hot-pluggable ports (root and switch downstream) need a unique one.
    static let maxChassis = 255
}

struct QEMUExportState {
    let loaded: LoadedTopology
    let options: QEMUExportOptions
    var bag: DiagnosticBag
    var guest: Topology
    var arguments: [String] = []
    var commandLine = ""
    /// Per device: its QEMU `id=` (bridges only; children name it as `bus=`).
    var qemuIDs: [String?]
    var usedIDs = Set<String>()
    var chassis = 0
    var blockDevices = 0

    var topology: Topology { loaded.topology }
    var enumeration: Enumeration { loaded.enumeration }

    init(_ loaded: LoadedTopology, _ options: QEMUExportOptions) {
        self.loaded = loaded
        self.options = options
        bag = DiagnosticBag(file: loaded.source.file)
        guest = loaded.topology
        qemuIDs = Array(repeating: nil, count: loaded.topology.devices.count)
    }

    func line(_ device: Int) -> Int? { loaded.source.device(device) }
    mutating func approximate(_ line: Int?, _ message: String) { bag.warning(line, message) }

    mutating func run() {
        guard checkRootComplexes() else { return }
        var devices: [String] = []
        var machine = ["q35"]
        var iommuDevice: String?
        exportIOMMU(&iommuDevice)
        let cpu = exportCPU()
        let ich9 = exportICH9()
        if !ich9.contains(.sata) { machine.append("sata=off") }
        if !ich9.contains(.smbus) { machine.append("smbus=off") }
        for d in topology.devices.indices { exportDevice(d, into: &devices) }
        checkBusNumbers()

        if options.accelerator == .kvm {
            machine.append("kernel-irqchip=split")
            if iommuDevice != nil { iommuDevice! += ",intremap=on" }
        }
        arguments = [options.binary, "-machine", machine.joined(separator: ","), "-accel", options.accelerator.rawValue,
                     "-cpu", cpu, "-m", options.memory, "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none",
                     "-no-reboot"]
        // intel-iommu must come before the PCI devices it translates for.
        if let iommuDevice { arguments += ["-device", iommuDevice] }
        arguments += devices
        commandLine = options.commandLine ?? topology.kernel.commandLine
        guest.kernel.commandLine = commandLine
        if let kernel = options.kernel {
            arguments += ["-kernel", kernel]
            if let initrd = options.initrd { arguments += ["-initrd", initrd] }
            let append = [options.consoleArguments, commandLine].filter { !$0.isEmpty }.joined(separator: " ")
            if !append.isEmpty { arguments += ["-append", append] }
        }
        for s in options.serial { arguments += ["-serial", s] }
    }

    // MARK: - Machine

    /// q35 has one PCI host bridge, segment 0, root bus 0. (pxb-pcie expanders would add a function on bus 0.)
    mutating func checkRootComplexes() -> Bool {
        guard topology.rootComplexes.count == 1 else {
            let second = topology.rootComplexes.count > 1 ? loaded.source.rootComplex(1) : nil
            bag.error(second, "QEMU's q35 has one PCI host bridge and this topology has \(topology.rootComplexes.count) root complexes; a pxb-pcie expander for each further one would add a function on bus 00 the topology does not have")
            return false
        }
        let rc = topology.rootComplexes[0]
        let rcLine = loaded.source.rootComplex(0)
        if rc.segment != 0 { bag.error(rcLine, "root complex '\(rc.name)' is in segment \(hex(rc.segment, 4)); q35 has only segment 0000") }
        if let bus = rc.rootBus, bus != 0 { bag.error(rcLine, "root complex '\(rc.name)' has root bus \(hex(bus, 2)); q35's is 00") }
        switch rc.hostBridgeID {
        case nil:
            if let f = enumeration.function(at: BDF(bus: 0, device: 0, function: 0)) {
                bag.error(line(f), "'\(enumeration.functions[f].name)' is at 00:00.0, where q35's host bridge \(QEMUDeviceModel.q35HostBridge) sits")
            }
            approximate(rcLine, "root complex '\(rc.name)' has no host bridge function; q35 has its MCH \(QEMUDeviceModel.q35HostBridge) at 00:00.0")
        case let id? where id != QEMUDeviceModel.q35HostBridge:
            approximate(rcLine, "root complex '\(rc.name)' has host bridge \(id); q35's is \(QEMUDeviceModel.q35HostBridge) (not on the p2pdma host bridge whitelist)")
        default:
            break
        }
        guest.rootComplexes[0].hostBridgeID = QEMUDeviceModel.q35HostBridge
        // Root-bus devices keep their numbers even though 00.0 may now be taken by the host bridge.
        for d in topology.devices.indices where topology.devices[d].parent == nil {
            guest.devices[d].deviceNumber = enumeration.functions[d].bdf.device
            guest.devices[d].functionNumber = enumeration.functions[d].bdf.function
        }
        if rc.p2pForwarding != .forward || rc.p2pRateCap != nil || rc.dmaCap != nil {
            approximate(rcLine, "root complex '\(rc.name)': its P2P forwarding policy and rate caps are the simulator's; QEMU forwards everything")
        }
        return true
    }

    /// VT-d becomes `-device intel-iommu`; AMD-Vi is approximated by it; SMMUv3 exists only on Arm's virt machine.
    mutating func exportIOMMU(_ device: inout String?) {
        let rc = topology.rootComplexes[0]
        guard let name = rc.iommu, let u = topology.iommus.firstIndex(where: { $0.name == name }) else { return }
        let unit = topology.iommus[u]
        let line = loaded.source.iommus.indices.contains(u) ? loaded.source.iommus[u] : nil
        switch unit.kind {
        case .none:
            return
        case .smmuv3:
            bag.error(line, "IOMMU '\(unit.name)' is an SMMUv3, which QEMU has only on the Arm virt machine; this export is for x86 q35")
            return
        case .amdVi:
            approximate(line, "IOMMU '\(unit.name)' is AMD-Vi; exported as intel-iommu, since QEMU's amd-iommu adds a PCI function (1022:0020) on bus 00")
            guest.iommus[u].kind = .vtd
        case .vtd:
            break
        }
        // The unit is the hardware; the kernel line decides whether it boots (`KernelParameters.bootMode`). A unit
        // the line turns on (or the file's mode leaves on) is there for the guest kernel to find.
        let kernelLine = options.commandLine ?? topology.kernel.commandLine
        let parameters = KernelParameters.parse(KernelConfiguration(commandLine: kernelLine, version: topology.kernel.version))
        if parameters.bootMode(of: guest.iommus[u]) != .off { device = "intel-iommu" }
    }

    /// `qemu64` with the topology's CPU vendor and family, which Linux's p2pdma looks at (`cpu_supports_p2pdma`).
    mutating func exportCPU() -> String {
        guard let socket = topology.sockets.min(by: { $0.id < $1.id }) else {
            approximate(nil, "the topology has no socket; the guest CPU is qemu64 (AuthenticAMD family 15)")
            return "qemu64"
        }
        let s = topology.sockets.firstIndex(of: socket)!
        let line = loaded.source.sockets.indices.contains(s) ? loaded.source.sockets[s] : nil
        if topology.sockets.count > 1 {
            approximate(line, "the topology has \(topology.sockets.count) sockets; the guest has one vCPU (the IOMMU groups and ACS do not depend on it)")
        }
        var cpu = "qemu64"
        switch socket.cpuVendor {
        case .intel: cpu += ",vendor=GenuineIntel"
        case .amd: cpu += ",vendor=AuthenticAMD"
        case .arm, .zhaoxin, .other:
            approximate(line, "CPU vendor \(socket.cpuVendor.rawValue) has no x86 model here; the guest CPU is qemu64 (AuthenticAMD family 15)")
            guest.sockets = [Socket(id: socket.id, cpuVendor: .amd, cpuFamily: 15)]
            return cpu
        }
        if socket.cpuFamily > 0 { cpu += ",family=\(socket.cpuFamily)" }
        if let model = socket.cpuModel { cpu += ",model=\(model)" }
        guest.sockets = [Socket(id: socket.id, cpuVendor: socket.cpuVendor, cpuFamily: socket.cpuFamily > 0 ? socket.cpuFamily : 15,
                                cpuModel: socket.cpuModel)]
        guest.socketLinks = []
        return cpu
    }

    /// q35 always builds the ICH9 LPC bridge at 00:1f.0, and the AHCI (1f.2) and SMBus (1f.3) functions unless
    /// turned off. Topology functions at 00:1f must be those; an absent LPC bridge is added to the guest.
    mutating func exportICH9() -> Set<QEMUDeviceModel.ICH9> {
        var present = Set<QEMUDeviceModel.ICH9>()
        for d in topology.devices.indices where topology.devices[d].parent == nil {
            let bdf = enumeration.functions[d].bdf
            guard bdf.device == QEMUDeviceModel.ICH9.device else { continue }
            let dev = topology.devices[d]
            if let f = QEMUDeviceModel.ICH9.allCases.first(where: { $0.function == bdf.function }), dev.id == f.id {
                present.insert(f)
            } else {
                let expected = QEMUDeviceModel.ICH9.allCases.first { $0.function == bdf.function }
                bag.error(line(d), "'\(dev.name)' (\(dev.id)) is at \(bdf), where q35 has \(expected.map { "its ICH9 function \($0.id)" } ?? "nothing it lets you place")")
            }
        }
        if !present.contains(.lpc) {
            var name = "ich9-lpc"
            while topology.deviceIndex(named: name) != nil || topology.rootComplexes.contains(where: { $0.name == name }) { name += "_" }
            guest.devices.append(Device(name: name, kind: .endpoint, parent: nil, rootComplex: 0, id: QEMUDeviceModel.ICH9.lpc.id,
                                        subsystemID: QEMUDeviceModel.qemuSubsystem, classCode: QEMUDeviceModel.ICH9.lpc.classCode, deviceNumber: QEMUDeviceModel.ICH9.device,
                                        functionNumber: 0, isPCIe: false, endpoint: EndpointInfo(endpointClass: .generic)))
            approximate(nil, "q35 always has the ICH9 LPC bridge \(QEMUDeviceModel.ICH9.lpc.id) at 00:1f.0; the guest has it as '\(name)'")
        }
        return present
    }

    // MARK: - Devices

    mutating func exportDevice(_ d: Int, into devices: inout [String]) {
        let dev = topology.devices[d]
        let fn = enumeration.functions[d]
        if dev.parent == nil, fn.bdf.device == QEMUDeviceModel.ICH9.device, !dev.kind.isBridge {
            exportSubsystem(d, QEMUDeviceModel.qemuSubsystem, "q35's ICH9 functions")
            return
        }
        if dev.endpoint?.sriov != nil {
            bag.error(line(d), "'\(dev.name)' has SR-IOV; QEMU 7.2's x86 device models used here have none")
            return
        }
        let bus = dev.parent.map { qemuIDs[$0] ?? "?" } ?? "pcie.0"
        var props: [String] = []
        let model: QEMUDeviceModel
        switch dev.kind {
        case .rootPort:
            model = .rootPort
            let id = newID(for: d)
            qemuIDs[d] = id
            guard let k = nextChassis(d) else { return }
            let rc = topology.rootComplexes[dev.rootComplex]
            var generation = dev.linkGeneration ?? rc.defaultLink.generation
            if generation > .gen4 {
                approximate(line(d), "'\(dev.name)' is Gen\(generation.rawValue); QEMU's root port goes up to 16 GT/s (Gen4)")
                generation = .gen4
            }
            let width = dev.linkWidth ?? rc.defaultLink.width
            props = ["id=\(id)", "bus=\(bus)", address(fn), "chassis=\(k)", "slot=\(k)", "port=\(k)",
                     "x-speed=\(QEMUExportState.speed(generation))", "x-width=\(width)"]
            if fn.isMultifunction { props.append("multifunction=on") }
            exportPortACS(d, model: model, props: &props)
        case .switchUpstreamPort:
            model = .switchUpstream
            let id = newID(for: d)
            qemuIDs[d] = id
            props = ["id=\(id)", "bus=\(bus)", address(fn)]
            if fn.isMultifunction { props.append("multifunction=on") }
            exportPortACS(d, model: model, props: &props)
        case .switchDownstreamPort:
            model = .switchDownstream
            let id = newID(for: d)
            qemuIDs[d] = id
            guard let k = nextChassis(d) else { return }
            props = ["id=\(id)", "bus=\(bus)", address(fn), "chassis=\(k)", "slot=\(k)", "port=\(fn.bdf.device)"]
            if fn.isMultifunction { props.append("multifunction=on") }
            exportPortACS(d, model: model, props: &props)
        case .pciBridge:
            model = .pciePCIBridge
            if dev.parent == nil {
                bag.error(line(d), "'\(dev.name)' is a PCIe-to-PCI bridge on the root bus; QEMU's pcie-pci-bridge is exported below a root or downstream port only")
                return
            }
            let id = newID(for: d)
            qemuIDs[d] = id
            props = ["id=\(id)", "bus=\(bus)", address(fn)]
            if fn.isMultifunction { props.append("multifunction=on") }
            if let acs = dev.acs {
                approximate(line(d), "'\(dev.name)' has an ACS capability (\(acs.capability.tokens)); QEMU's pcie-pci-bridge has none")
                guest.devices[d].acs = nil
            }
        case .endpoint:
            guard let m = exportEndpoint(d, bus: bus, fn: fn, props: &props, devices: &devices) else { return }
            model = m
        }
        if dev.id != model.id, !(model == .nvme && dev.id == PCIID(vendor: 0x8086, device: 0x5845)) {
            approximate(line(d), "'\(dev.name)' is \(dev.id) in the topology; QEMU's \(model.rawValue) is \(model.id)")
            guest.devices[d].id = model.id
        }
        if dev.effectiveClassCode != model.classCode {
            approximate(line(d), "'\(dev.name)' has class code 0x\(hex(dev.effectiveClassCode, 6)); QEMU's \(model.rawValue) has 0x\(hex(model.classCode, 6))")
        }
        guest.devices[d].classCode = model.classCode
        if model == .e1000e, let sub = dev.subsystemID {
            // e1000e's subsys_ven / subsys properties: the guest reads the topology's subsystem ID.
            props += ["subsys_ven=0x\(hex(sub.vendor, 4))", "subsys=0x\(hex(sub.device, 4))"]
        } else {
            exportSubsystem(d, model.subsystemID, "QEMU's \(model.rawValue)")
        }
        if dev.kind.isBridge {
            let qemuBARs = model.bridgeBARs
            if !dev.bars.isEmpty, dev.bars != qemuBARs {
                approximate(line(d), "'\(dev.name)' has bridge BARs; QEMU's \(model.rawValue) has \(qemuBARs.isEmpty ? "none" : "BAR0 4K (MSI-X)")")
            }
            guest.devices[d].bars = qemuBARs
        }
        devices += ["-device", ([model.rawValue] + props).joined(separator: ",")]
    }

    /// The subsystem ID the guest reads (nil: none, 0000:0000); a different one in the topology is an approximation.
    mutating func exportSubsystem(_ d: Int, _ qemu: PCIID?, _ what: String) {
        let dev = topology.devices[d]
        if let given = dev.subsystemID, given != qemu {
            approximate(line(d), "'\(dev.name)' has subsystem \(given); \(what) \(qemu.map { "has \($0)" } ?? "have none")")
        }
        guest.devices[d].subsystemID = qemu
    }

    /// ACS of a port: QEMU's root port implements SV TB RR CR UF DT with control 0 (or nothing with
    /// `disable-acs=on`); its switch ports have no ACS capability.
    mutating func exportPortACS(_ d: Int, model: QEMUDeviceModel, props: inout [String]) {
        let dev = topology.devices[d]
        guard let acs = dev.acs else {
            if model == .rootPort { props.append("disable-acs=on") }
            return
        }
        guard let qemuCap = model.acsCapability else {
            approximate(line(d), "'\(dev.name)' has an ACS capability (\(acs.capability.tokens)); QEMU 7.2's \(model.rawValue) has none")
            guest.devices[d].acs = nil
            return
        }
        if acs.capability != qemuCap {
            approximate(line(d), "'\(dev.name)' implements ACS \(acs.capability.tokens); QEMU's \(model.rawValue) implements \(qemuCap.tokens)")
        }
        if !acs.control.isEmpty {
            approximate(line(d), "'\(dev.name)' has firmware ACS control \(acs.control.tokens); QEMU resets ACS control to 0 and SeaBIOS leaves it")
        }
        if !acs.egressVector.isEmpty {
            approximate(line(d), "'\(dev.name)' has an egress control vector; QEMU's \(model.rawValue) has no egress control")
        }
        guest.devices[d].acs = ACSState(capability: qemuCap, control: [])
    }

    /// An endpoint's QEMU model and its properties; root-bus conventional functions only as virtio (q35's own
    /// ICH9 functions are not devices on the command line).
    mutating func exportEndpoint(_ d: Int, bus: String, fn: Enumeration.Function, props: inout [String],
                                 devices: inout [String]) -> QEMUDeviceModel? {
        let dev = topology.devices[d]
        let belowPCIBridge = dev.parent.map { topology.devices[$0].kind == .pciBridge } ?? false
        guard let model = QEMUDeviceModel.endpoint(for: dev, belowPCIBridge: belowPCIBridge) else {
            let cls = dev.endpoint?.endpointClass.rawValue ?? "generic"
            bag.error(line(d), "'\(dev.name)' (\(cls), \(dev.id)) has no QEMU device model here; QEMU-expressible endpoints are NVMe (nvme, 1b36:0010), NICs (e1000e, 8086:10d3; e1000, 8086:100e, below a PCIe-to-PCI bridge) and virtio-net/virtio-blk (1af4:1041, 1af4:1042)")
            return nil
        }
        let isVirtio = model == .virtioNet || model == .virtioBlk
        if model == .e1000, !belowPCIBridge {
            bag.error(line(d), "'\(dev.name)' (\(dev.id)) is QEMU's conventional e1000, which the export puts only below a PCIe-to-PCI bridge")
            return nil
        }
        if !dev.isPCIe, !(dev.parent == nil && isVirtio), !belowPCIBridge {
            bag.error(line(d), "'\(dev.name)' is a conventional PCI function; on q35 only virtio devices on the root bus, the ICH9 functions at 00:1f and functions below a PCIe-to-PCI bridge are")
            return nil
        }
        if dev.parent == nil || belowPCIBridge {
            // A conventional bus: virtio and e1000 have no PCIe capability there; nvme and e1000e keep theirs.
            let where_ = belowPCIBridge ? "below a PCIe-to-PCI bridge" : "on the root bus"
            if model.isExpressOnly, !dev.isPCIe {
                approximate(line(d), "'\(dev.name)' is a conventional function \(where_); QEMU's \(model.rawValue) has a PCI Express capability there too")
                guest.devices[d].isPCIe = true
            } else if !model.isExpressOnly, dev.isPCIe {
                approximate(line(d), "'\(dev.name)' is a PCIe function \(where_); QEMU gives \(model.rawValue) there no PCIe capability")
                guest.devices[d].isPCIe = false
            }
        }
        props = [address(fn)]
        if dev.parent != nil { props.insert("bus=\(bus)", at: 0) } else { props.insert("bus=pcie.0", at: 0) }
        if fn.isMultifunction { props.append("multifunction=on") }
        if dev.acs != nil {
            approximate(line(d), "'\(dev.name)' has an ACS capability; QEMU's \(model.rawValue) has none")
            guest.devices[d].acs = nil
        }
        let info = dev.endpoint ?? EndpointInfo(endpointClass: .generic)
        var guestInfo = info
        guestInfo.endpointClass = model == .nvme ? .nvme : (model == .virtioBlk ? .generic : .nic)
        guestInfo.supportsPASID = false
        if info.supportsPASID { approximate(line(d), "'\(dev.name)' has PASID; QEMU's \(model.rawValue) has none") }
        if info.supportsATS {
            if isVirtio {
                props.append("ats=on")
            } else {
                approximate(line(d), "'\(dev.name)' has ATS; QEMU's \(model.rawValue) has none")
                guestInfo.supportsATS = false
            }
        }
        let qemuBARs: [BAR]
        switch model {
        case .nvme:
            props.append("serial=\(QEMUExportState.serial(dev.name, d))")
            if dev.id == PCIID(vendor: 0x8086, device: 0x5845) { props.append("use-intel-id=on") }
            // BAR0: registers, doorbells and the MSI-X table (16K); BAR2: the CMB.
            var bars = [BAR(index: 0, size: 16 << 10)]
            guestInfo.p2pmem = []
            // The CMB: BAR2, else the BAR the topology's p2pmem lives in (QEMU always puts it in BAR2).
            let cmbBAR = dev.bars.first { $0.index == 2 } ?? info.p2pmem.first.flatMap { r in dev.bars.first { $0.index == r.bar } }
            if let cmb = cmbBAR {
                let mib = cmb.size >> 20
                if mib == 0 || cmb.size & ((1 << 20) - 1) != 0 || mib > UInt64(UInt32.max) {
                    bag.error(line(d), "'\(dev.name)' BAR\(cmb.index) (its CMB) is \(ByteSize.format(cmb.size)); QEMU's cmb_size_mb needs a whole number of MiB")
                    return nil
                }
                props.append("cmb_size_mb=\(mib)")
                bars.append(BAR(index: 2, size: cmb.size, isPrefetchable: true))
                // nvme_map_cmb registers the whole CMB and publishes it (QEMU's CMB supports reads and writes).
                guestInfo.p2pmem = [P2PMemRegion(bar: 2)]
                if info.p2pmem != guestInfo.p2pmem {
                    approximate(line(d), "'\(dev.name)': its CMB is QEMU's BAR2 (\(ByteSize.format(cmb.size))), which Linux's nvme driver registers whole as published p2pmem")
                }
            }
            qemuBARs = bars
        case .e1000:
            // BAR0 registers, 32-bit (BAR1 is I/O, not modelled).
            qemuBARs = [BAR(index: 0, size: 128 << 10, is64Bit: false)]
            if !info.p2pmem.isEmpty { approximate(line(d), "'\(dev.name)' has p2pmem; QEMU's e1000 provides none") }
            guestInfo.p2pmem = []
        case .e1000e:
            // BAR0 registers, BAR1 flash, BAR3 MSI-X, all 32-bit (BAR2 is I/O, not modelled).
            qemuBARs = [BAR(index: 0, size: 128 << 10, is64Bit: false), BAR(index: 1, size: 128 << 10, is64Bit: false),
                        BAR(index: 3, size: 16 << 10, is64Bit: false)]
            if !info.p2pmem.isEmpty { approximate(line(d), "'\(dev.name)' has p2pmem; QEMU's e1000e provides none") }
            guestInfo.p2pmem = []
        case .virtioNet, .virtioBlk:
            props.append("disable-legacy=on")
            if model == .virtioBlk {
                let node = "nullblk\(blockDevices)"
                blockDevices += 1
                devices += ["-blockdev", "driver=null-co,node-name=\(node)"]
                props.append("drive=\(node)")
            }
            // BAR1 MSI-X (32-bit), BAR4 the modern virtio registers.
            qemuBARs = [BAR(index: 1, size: 4 << 10, is64Bit: false), BAR(index: 4, size: 16 << 10, isPrefetchable: true)]
            if !info.p2pmem.isEmpty { approximate(line(d), "'\(dev.name)' has p2pmem; QEMU's \(model.rawValue) provides none") }
            guestInfo.p2pmem = []
        case .rootPort, .switchUpstream, .switchDownstream, .pciePCIBridge:
            qemuBARs = []
        }
        if !dev.bars.isEmpty, dev.bars != qemuBARs {
            approximate(line(d), "'\(dev.name)': the BARs are QEMU's \(model.rawValue) layout (\(qemuBARs.map { "BAR\($0.index) \(ByteSize.format($0.size))" }.joined(separator: ", ")))")
        }
        guest.devices[d].bars = qemuBARs
        guest.devices[d].endpoint = guestInfo
        return model
    }

    /// A QEMU `id=`: the device name when QEMU accepts it (a letter, then letters, digits, `-`, `.`, `_`),
    /// else `dev<index>`; unique.
    mutating func newID(for d: Int) -> String {
        let name = topology.devices[d].name
        let scalars = Array(name.unicodeScalars)
        func isLetter(_ c: Unicode.Scalar) -> Bool { ("A"..."Z").contains(c) || ("a"..."z").contains(c) }
        var id = name
        if scalars.isEmpty || !isLetter(scalars[0]) || !scalars.allSatisfy({ isLetter($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "." || $0 == "_" }) {
            id = "dev\(d)"
        }
        while !usedIDs.insert(id).inserted || id == "pcie.0" { id += "_" }
        return id
    }

    /// The next `chassis` number (also used as slot and port numbers of root ports).
    mutating func nextChassis(_ d: Int) -> Int? {
        chassis += 1
        if chassis == QEMUExport.maxChassis + 1 {
            bag.error(line(d), "more than \(QEMUExport.maxChassis) root and switch downstream ports; QEMU's chassis number is 8-bit")
        }
        return chassis <= QEMUExport.maxChassis ? chassis : nil
    }

    /// `addr=SS.F` as QEMU's devfn property reads it (hexadecimal slot).
    func address(_ fn: Enumeration.Function) -> String { "addr=\(hex(fn.bdf.device, 2)).\(fn.bdf.function)" }

    static func speed(_ g: LinkGeneration) -> String {
        switch g {
        case .gen1: "2_5"
        case .gen2: "5"
        case .gen3: "8"
        default: "16"
        }
    }

    /// An NVMe serial (at most 20 characters, printable ASCII, no comma).
    static func serial(_ name: String, _ d: Int) -> String {
        let s = String(name.unicodeScalars.filter { $0.isASCII && $0 != "," && $0.value > 0x20 && $0.value < 0x7f }.prefix(20).map(Character.init))
        return s.isEmpty ? "nvme\(d)" : s
    }

    // MARK: - Bus numbers

    /// SeaBIOS (src/fw/pciinit.c, `pci_bios_init_bus_rec`) gives each bridge the next bus depth-first in
    /// device/function order; Linux keeps those numbers. The BDFs the simulator predicts hold only if the
    /// enumerator's numbers are the same.
    mutating func checkBusNumbers() {
        guard !bag.hasErrors else { return }
        let children = enumeration.childrenByBridge()
        let rootBus = enumeration.functions.indices.filter { enumeration.functions[$0].upstreamBridge == nil }
            .sorted { enumeration.functions[$0].bdf < enumeration.functions[$1].bdf }
        var next = 1
        var problems: [(Int, Int, Int)] = []
        func walk(_ devices: [Int]) {
            for f in devices where enumeration.functions[f].kind.isBridge {
                let expected = next
                next += 1
                if let given = enumeration.busRanges[f]?.lowerBound, Int(given) != expected { problems.append((f, Int(given), expected)) }
                walk(children[f])
            }
        }
        walk(rootBus)
        for (f, given, expected) in problems.prefix(1) {
            let name = enumeration.functions[f].name
            bag.error(enumeration.functions[f].device.flatMap(line), "'\(name)' gets secondary bus \(hex(given, 2)) in the topology, but SeaBIOS numbers buses depth-first in device order and gives it \(hex(expected, 2)); list bridges in device order and leave bus numbers to the enumerator")
        }
    }
}
