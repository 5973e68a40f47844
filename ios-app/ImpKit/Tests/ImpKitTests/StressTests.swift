import Foundation
import XCTest
@testable import ImpKit

/// Native threads the core and the facade start (all named `imp-*`), from
/// /proc on Linux, where these tests run.
func ourThreads() -> [String] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { task in
        (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }.filter { $0.hasPrefix("imp-") }
}

/// After a test: no engine alive and none of our threads running (they end a
/// moment after the work they report, so this waits up to ten seconds).
func assertNothingLeftRunning(file: StaticString = #filePath, line: UInt = #line) async throws {
    for _ in 0..<1000 where ImpEngine.liveEngineCount != 0 || !ourThreads().isEmpty {
        try await Task.sleep(nanoseconds: 10_000_000)
    }
    XCTAssertEqual(ImpEngine.liveEngineCount, 0, "engines left alive", file: file, line: line)
    XCTAssertEqual(ourThreads(), [], "threads left running", file: file, line: line)
}

struct AppBug: Error {}

/// The wrapper under stress and misuse: iterations ended early over and over,
/// an engine released while it answers, the app's own code throwing while it
/// reads an answer, a load cancelled then done again. Swift has no close: an
/// engine or conversation is released with its last reference, after which
/// it cannot be called at all.
final class StressTests: XCTestCase {
    let fixtures = ProcessInfo.processInfo.environment["IMP_FIXTURES"] ?? "../../tests/fixtures"
    var model: String { "\(fixtures)/tiny-imp-196-msft" }
    var photo: Picture { .file("\(fixtures)/images/photo.png") }

    override func tearDown() async throws {
        try await assertNothingLeftRunning()
    }

    /// Reads `stream` until `count` tokens (or its end); returns the tokens
    /// read and whether it finished.
    func read(_ stream: AsyncThrowingStream<AnswerEvent, Error>, tokens count: Int) async throws
        -> (tokens: Int, finished: AnswerEvent?)
    {
        var tokens = 0
        for try await event in stream {
            switch event {
            case .token: tokens += 1
            case .finished: return (tokens, event)
            }
            if tokens == count { break }
        }
        return (tokens, nil)
    }

    /// Ending the iteration cancels the answer; the native side stops within a
    /// token, and until then a new question meets `busy`, as documented.
    func retryWhileBusy<T>(_ body: () async throws -> T) async throws -> T {
        for _ in 0..<1000 {
            do { return try await body() } catch ImpError.busy { try await Task.sleep(nanoseconds: 2_000_000) }
        }
        return try await body()
    }

    func testEndingTheIterationEarlyTwoHundredTimes() async throws {
        let engine = try await ImpEngine.load(path: model, options: .init(threads: 1))
        var chat = try await engine.startConversation(photo)
        for cycle in 0..<200 {
            if chat.contextUsed + 64 > engine.details.contextLength {
                chat = try await engine.startConversation(photo)
            }
            let want = cycle % 4 + 1
            let got = try await retryWhileBusy {
                try await self.read(chat.ask("What is in this picture?", settings: .init(maxTokens: 1000)),
                                    tokens: want)
            }
            XCTAssertEqual(got.tokens, want, "cycle \(cycle)")
        }
    }

    func testReleasingTheEngineWhileAnAnswerStreamsLetsItFinish() async throws {
        var engine: ImpEngine? = try await ImpEngine.load(path: model)
        let chat = try await engine!.startConversation(photo)
        var tokens = 0
        var finished: AnswerEvent?
        for try await event in chat.ask("What is in this picture?", settings: .init(maxTokens: 30)) {
            switch event {
            case .token:
                tokens += 1
                if tokens == 1 {
                    engine = nil
                    XCTAssertEqual(ImpEngine.liveEngineCount, 1, "the conversation holds the model")
                }
            case .finished: finished = event
            }
        }
        _ = engine
        XCTAssertEqual(tokens, 30)
        guard case .finished(_, _, let reason, _, _, _, _, _) = finished else { return XCTFail("no end") }
        XCTAssertEqual(reason, .maxTokens)
    }

    func testAConsumerThatThrowsCancelsTheAnswer() async throws {
        let engine = try await ImpEngine.load(path: model)
        let chat = try await engine.startConversation(photo)
        do {
            for try await event in chat.ask("What is in this picture?", settings: .init(maxTokens: 1000)) {
                if case .token = event { throw AppBug() }
            }
            XCTFail("the consumer's error was lost")
        } catch is AppBug {}
        let next = try await retryWhileBusy {
            try await self.read(chat.ask("And?", settings: .init(maxTokens: 2)), tokens: 100)
        }
        XCTAssertEqual(next.tokens, 2)
        XCTAssertNotNil(next.finished)
    }

    func testALoadCancelledMidwayThenLoadedAgain() async throws {
        let path = model
        for _ in 0..<3 {
            let loading = Task {
                try await ImpEngine.load(path: path) { _ in Thread.sleep(forTimeInterval: 0.01) }
            }
            try await Task.sleep(nanoseconds: 5_000_000)
            loading.cancel()
            do { _ = try await loading.value; XCTFail("the load should be cancelled") } catch let e as ImpError {
                XCTAssertEqual(e, .cancelled)
            }
            let engine = try await ImpEngine.load(path: path)
            XCTAssertEqual(engine.details.imageTokens, 196)
        }
    }
}
