// The result of a QEMU export: the command line, the machine as the guest will see it, the approximations.

/// What to put on the QEMU command line besides the machine itself.
public struct QEMUExportOptions: Sendable, Hashable {
    /// `-accel tcg` (emulation, works anywhere) or `-accel kvm` (then `kernel-irqchip=split` and
    /// `intremap=on`, which interrupt remapping under KVM needs).
    public enum Accelerator: String, Sendable, Hashable, CaseIterable {
        case tcg, kvm
    }

    public var accelerator: Accelerator
    public var binary: String
    /// Guest memory (`-m`).
    public var memory: String
    /// `-kernel`; without it no `-initrd` or `-append` is written.
    public var kernel: String?
    public var initrd: String?
    /// The kernel command line the machine boots with; nil uses the topology's `<kernel cmdline>`.
    public var commandLine: String?
    /// Arguments put before the command line in `-append` (`console=ttyS0 panic=-1`); not part of what the
    /// simulator is told.
    public var consoleArguments: String
    /// `-serial` back ends, in port order (`file:console.log`).
    public var serial: [String]

    public init(accelerator: Accelerator = .tcg, binary: String = "qemu-system-x86_64", memory: String = "512M",
                kernel: String? = nil, initrd: String? = nil, commandLine: String? = nil, consoleArguments: String = "",
                serial: [String] = []) {
        self.accelerator = accelerator
        self.binary = binary
        self.memory = memory
        self.kernel = kernel
        self.initrd = initrd
        self.commandLine = commandLine
        self.consoleArguments = consoleArguments
        self.serial = serial
    }
}

/// A topology exported to QEMU.
public struct QEMUMachine: Sendable {
    /// The command: `arguments[0]` is the QEMU binary.
    public var arguments: [String]
    /// The machine as the guest will see it: the topology with QEMU's IDs, ACS capabilities, BAR layout, CPU
    /// and the q35 functions QEMU always adds. The kernel oracle simulates this one, so that what QEMU cannot
    /// express is not reported as a kernel mismatch. Its BDFs are the topology's.
    public var guestTopology: Topology
    /// Where the guest differs from the topology, one warning each (`file:line: warning: ...`).
    public var approximations: [Diagnostic]
    /// The kernel command line given to the simulator (without the console arguments).
    public var kernelCommandLine: String

    /// A POSIX shell script running the command; arguments given to the script are appended.
    public var script: String {
        var out = "#!/bin/sh\n"
        out += "# QEMU 7.2 (Debian 12) machine for topology '\(guestTopology.name)', written by simrun export qemu.\n"
        out += "# Arguments given to this script are appended to the QEMU command line.\n"
        for a in approximations { out += "# approximation: \(a.message)\n" }
        var lines = [String]()
        var k = 1
        lines.append("exec " + QEMUMachine.shellQuote(arguments[0]))
        // One option and its value per line.
        while k < arguments.count {
            if arguments[k].hasPrefix("-"), k + 1 < arguments.count, !arguments[k + 1].hasPrefix("-") {
                lines.append("  " + QEMUMachine.shellQuote(arguments[k]) + " " + QEMUMachine.shellQuote(arguments[k + 1]))
                k += 2
            } else {
                lines.append("  " + QEMUMachine.shellQuote(arguments[k]))
                k += 1
            }
        }
        lines.append("  \"$@\"")
        out += lines.joined(separator: " \\\n") + "\n"
        return out
    }

    /// The argument as POSIX sh reads it back unchanged: bare when it has only safe characters, else in
    /// single quotes.
    public static func shellQuote(_ s: String) -> String {
        let safe = s.unicodeScalars.allSatisfy { c in
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || "-_./=:,+@%".unicodeScalars.contains(c)
        }
        if safe, !s.isEmpty { return s }
        return "'" + s.replacingAll("'", with: "'\\''") + "'"
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation in Sim).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
