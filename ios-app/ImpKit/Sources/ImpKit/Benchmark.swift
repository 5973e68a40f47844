import Foundation
import ImpFFI

/// The paper's Table 4 protocol on this phone: the same code and record as
/// `imp bench` on a computer.
public enum Benchmark {
    /// `.stage`s, then `.finished` with the record.
    public static func run(_ target: BenchmarkTarget, options: BenchmarkOptions = .init())
        -> AsyncThrowingStream<BenchmarkEvent, Error>
    {
        nativeWork { cancel, continuation in
            let record = try await runBenchmark(
                target: target, options: options, listener: StageRelay(continuation), cancel: cancel)
            return .finished(record)
        }
    }
}

public enum BenchmarkEvent: Sendable {
    case stage(BenchmarkStage)
    case finished(BenchmarkRecord)
}

private final class StageRelay: BenchmarkListener {
    private let continuation: AsyncThrowingStream<BenchmarkEvent, Error>.Continuation
    init(_ continuation: AsyncThrowingStream<BenchmarkEvent, Error>.Continuation) {
        self.continuation = continuation
    }

    func onStage(stage: BenchmarkStage) {
        continuation.yield(.stage(stage))
    }
}
