// Kernel error codes as the mapping calls return them (include/uapi/asm-generic/errno-base.h, errno.h).

/// The errno values the mirrored kernel calls return.
public enum Errno: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    // The values the modelled calls return, and those a real kernel answers to the user-space calls (the real
    // backends report any other errno as EIO with its number in the reason).
    case EPERM = 1, ENOENT = 2, ENXIO = 6, EIO = 5, EBADF = 9, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16
    case EEXIST = 17, ENODEV = 19, EINVAL = 22, ENOTTY = 25, ENOSPC = 28, ERANGE = 34, ENOSYS = 38, EOVERFLOW = 75
    case EMSGSIZE = 90, EOPNOTSUPP = 95, EADDRINUSE = 98, EREMOTEIO = 121

    public var description: String { "-\(name)" }
    public var name: String {
        switch self {
        case .ENXIO: "ENXIO"
        case .EBADF: "EBADF"
        case .EFAULT: "EFAULT"
        case .EBUSY: "EBUSY"
        case .ENOTTY: "ENOTTY"
        case .ERANGE: "ERANGE"
        case .ENOSYS: "ENOSYS"
        case .EOVERFLOW: "EOVERFLOW"
        case .EMSGSIZE: "EMSGSIZE"
        case .EOPNOTSUPP: "EOPNOTSUPP"
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

extension Errno {
    /// The errno of a name (`EINVAL`, `-EINVAL`), for scripts.
    public init?(name: String) {
        let bare = name.hasPrefix("-") ? String(name.dropFirst()) : name
        guard let e = Errno.allCases.first(where: { $0.name == bare }) else { return nil }
        self = e
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
