// Kernel error codes as the mapping calls return them (include/uapi/asm-generic/errno-base.h, errno.h).

/// The errno values the mirrored kernel calls return.
public enum Errno: Int32, Sendable, Hashable, CustomStringConvertible {
    // Only the values a modelled call can return; EFAULT (a failed copy_from_user) and EOPNOTSUPP (non-mappable
    // BARs in pcim_p2pdma_init) have no cause in the model.
    case EPERM = 1, ENOENT = 2, EIO = 5, ENOMEM = 12, EACCES = 13, EEXIST = 17, ENODEV = 19, EINVAL = 22
    case ENOSPC = 28, EADDRINUSE = 98, EREMOTEIO = 121

    public var description: String { "-\(name)" }
    public var name: String {
        switch self {
        case .EPERM: "EPERM"
        case .ENOENT: "ENOENT"
        case .EIO: "EIO"
        case .ENOMEM: "ENOMEM"
        case .EACCES: "EACCES"
        case .EEXIST: "EEXIST"
        case .ENODEV: "ENODEV"
        case .EINVAL: "EINVAL"
        case .ENOSPC: "ENOSPC"
        case .EADDRINUSE: "EADDRINUSE"
        case .EREMOTEIO: "EREMOTEIO"
        }
    }
}

/// A failed mapping call: the kernel function, its errno, and why (the kernel's own log line when it prints one).
public struct MappingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var function: String
    public var errno: Errno
    public var reason: String
    public init(_ function: String, _ errno: Errno, _ reason: String) {
        self.function = function
        self.errno = errno
        self.reason = reason
    }
    public var description: String { "\(function): \(errno) (\(reason))" }
}
