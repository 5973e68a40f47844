// Stand-in for the parts of Network the app uses (see AVFoundation.swift here).
@_exported import Foundation  // as Apple's frameworks do

public final class NWPath {
    public var isExpensive: Bool { false }
    public var isConstrained: Bool { false }
}

public final class NWPathMonitor {
    public init() {}
    public var pathUpdateHandler: ((NWPath) -> Void)?
    public func start(queue: DispatchQueue) {}
    public func cancel() {}
}
