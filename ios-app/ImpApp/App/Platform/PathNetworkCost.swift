import ImpAppLogic
import Network

/// The network's cost from the system's path monitor: cellular, a personal
/// hotspot (`isExpensive`) or Low Data Mode (`isConstrained`).
final class PathNetworkCost: NetworkCost, @unchecked Sendable {
    private let monitor = NWPathMonitor()
    private let lock = NSLock()
    private var expensive = false

    init() {
        monitor.pathUpdateHandler = { [weak self] path in
            guard let self else { return }
            self.lock.withLock { self.expensive = path.isExpensive || path.isConstrained }
        }
        monitor.start(queue: DispatchQueue(label: "app.imp.network-cost"))
    }

    deinit { monitor.cancel() }

    var isExpensive: Bool { lock.withLock { expensive } }
}
