import Foundation
import ImpFFI

/// Runs a long native call (download, import, benchmark) as a stream: `work`
/// gets a cancel handle and the continuation to report progress into, and its
/// result is the stream's last element. Ending the iteration cancels the native
/// work; the native call itself is awaited to its end (it stops at the next
/// safe point), so a download can be restarted at once without two writers on
/// one file.
func nativeWork<Event: Sendable>(
    _ work: @escaping @Sendable (CancelHandle, AsyncThrowingStream<Event, Error>.Continuation)
        async throws -> Event
) -> AsyncThrowingStream<Event, Error> {
    AsyncThrowingStream(bufferingPolicy: .unbounded) { continuation in
        let cancel = CancelHandle()
        continuation.onTermination = { _ in cancel.cancel() }
        Task {
            do {
                continuation.yield(try await work(cancel, continuation))
                continuation.finish()
            } catch {
                continuation.finish(throwing: ImpError(error))
            }
        }
    }
}
