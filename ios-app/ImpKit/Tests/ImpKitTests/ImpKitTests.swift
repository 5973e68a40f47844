import Foundation
import XCTest
@testable import ImpKit

/// Runs against the host-built library on the fixture models (tests/fixtures).
final class ImpKitTests: XCTestCase {
    let fixtures = ProcessInfo.processInfo.environment["IMP_FIXTURES"] ?? "../../tests/fixtures"
    var model: String { "\(fixtures)/tiny-imp-196-msft" }
    var photo: Picture { .file("\(fixtures)/images/photo.png") }

    override func tearDown() async throws {
        try await assertNothingLeftRunning()
    }

    /// The reference's greedy ids for a fixture model.
    func golden(_ key: String, model name: String = "tiny-imp-196-msft") throws -> [UInt32] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/golden/\(name).json"))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (json[key] as! [NSNumber]).map { $0.uint32Value }
    }

    func collect(_ stream: AsyncThrowingStream<AnswerEvent, Error>) async throws
        -> (ids: [UInt32], texts: [String], finished: AnswerEvent?)
    {
        var ids: [UInt32] = [], texts: [String] = [], finished: AnswerEvent?
        for try await event in stream {
            switch event {
            case .token(let id, let text, _): ids.append(id); texts.append(text)
            case .finished: finished = event
            }
        }
        return (ids, texts, finished)
    }

    func testLoadsWithProgressAndDescribesTheModel() async throws {
        let seen = Fractions()
        let engine = try await ImpEngine.load(path: model) { seen.add($0) }
        XCTAssertEqual(seen.values.last, 1.0)
        XCTAssertEqual(seen.values, seen.values.sorted())
        XCTAssertEqual(engine.details.imageTokens, 196)
        XCTAssertEqual(engine.details.weightsDtype, "bf16")
        XCTAssertEqual(try ImpEngine.inspect(path: model), engine.details)
    }

    func testRunsAModelAtASmallerImageSize() async throws {
        let engine = try await ImpEngine.load(path: "\(fixtures)/tiny-imp-384", options: .init(imageSize: 196))
        XCTAssertEqual(engine.details.imageTokens, 196)
        XCTAssertEqual(engine.details.imageSize, 196)
    }

    func testStreamsTheReferenceAnswerThenAFollowUp() async throws {
        let engine = try await ImpEngine.load(path: model)
        let chat = try await engine.startConversation(photo)
        let first = try await collect(chat.ask("What is in this picture?", settings: .init(maxTokens: 16)))
        XCTAssertEqual(first.ids, try golden("greedy_ids"))
        guard case .finished(let text, let tail, let reason, _, let prefill, _, _, _) = first.finished else {
            return XCTFail("no finished event")
        }
        XCTAssertEqual(reason, .maxTokens)
        XCTAssertEqual(first.texts.joined() + tail, text)
        XCTAssertEqual(prefill, 41 + 196)
        // The 16th token is sampled but not yet run through the model.
        XCTAssertEqual(chat.contextUsed, 41 + 196 + 15)
        let followUp = try await collect(chat.ask("Describe the colours, please.", settings: .init(maxTokens: 8)))
        XCTAssertEqual(followUp.ids, try golden("followup_greedy_ids"))
    }

    /// Imp-2B (Qwen1.5) and Imp-4B (Phi-3) fixtures behind the same API.
    func testQwen2AndPhi3ModelsAnswerAsTheReference() async throws {
        for (name, variant) in [("tiny-imp-qwen2", "imp-qwen2"), ("tiny-imp-phi3", "imp-phi3")] {
            let engine = try await ImpEngine.load(path: "\(fixtures)/\(name)")
            XCTAssertEqual(engine.details.variant, variant)
            let chat = try await engine.startConversation(photo)
            let first = try await collect(chat.ask("What is in this picture?", settings: .init(maxTokens: 16)))
            XCTAssertEqual(first.ids, try golden("greedy_ids", model: name), name)
            let followUp = try await collect(chat.ask("Describe the colours, please.", settings: .init(maxTokens: 8)))
            XCTAssertEqual(followUp.ids, try golden("followup_greedy_ids", model: name), name)
        }
    }

    func testEndingTheIterationCancelsTheAnswer() async throws {
        let engine = try await ImpEngine.load(path: model)
        let chat = try await engine.startConversation(photo)
        var count = 0
        for try await event in chat.ask("What is in this picture?", settings: .init(maxTokens: 100_000)) {
            if case .token = event { count += 1 }
            if count == 3 { break }
        }
        XCTAssertEqual(count, 3)
        // The native side stops within a token; then the engine answers again.
        let next = try await retryWhileBusy { try await self.collect(chat.ask("And?", settings: .init(maxTokens: 2))) }
        XCTAssertEqual(next.ids.count, 2)
    }

    func testEveryErrorIsReachable() async throws {
        await assertThrows(.modelUnusable("")) { _ = try await ImpEngine.load(path: "\(self.fixtures)/images") }
        await assertThrows(.outOfMemory("")) {
            _ = try await ImpEngine.load(path: self.model, options: .init(availableMemoryBytes: 1024))
        }
        let path = model
        let loading = Task { try await ImpEngine.load(path: path) { _ in Thread.sleep(forTimeInterval: 0.02) } }
        loading.cancel()
        do { _ = try await loading.value; XCTFail("load should be cancelled") } catch let e as ImpError {
            XCTAssertEqual(e, .cancelled)
        }

        let engine = try await ImpEngine.load(path: model, options: .init(contextLength: 240))
        await assertThrows(.imageUnusable("")) { _ = try await engine.startConversation(.encoded(Data([1, 2, 3]))) }
        await assertThrows(.imageUnusable("")) {
            _ = try await engine.startConversation(.rgba(width: 2, height: 2, pixels: Data(count: 3)))
        }
        let chat = try await engine.startConversation(photo)
        let short = try await collect(chat.ask("What is in this picture?", settings: .init(maxTokens: 50)))
        guard case .finished(_, _, let reason, _, _, _, _, _) = short.finished else { return XCTFail() }
        XCTAssertEqual(reason, .contextFull)
        await assertThrows(.inputTooLong("")) { _ = try await self.collect(chat.ask("And now?")) }
        await assertThrows(.internalError("")) { _ = try await self.collect(chat.ask("q", settings: .init(topP: 2))) }

        let busyEngine = try await ImpEngine.load(path: model)
        let chatA = try await busyEngine.startConversation(photo)
        let chatB = try await busyEngine.startConversation(photo)
        var iterator = chatA.ask("What is in this picture?", settings: .init(maxTokens: 100_000)).makeAsyncIterator()
        _ = try await iterator.next()  // A is generating
        await assertThrows(.busy) { _ = try await self.collect(chatB.ask("Me too?")) }
    }

    func testReleasingTheEngineFreesTheModel() async throws {
        try await waitForLiveEngines(0)
        var engine: ImpEngine? = try await ImpEngine.load(path: model)
        var chat: Conversation? = try await engine!.startConversation(photo)
        XCTAssertEqual(ImpEngine.liveEngineCount, 1)
        engine = nil
        XCTAssertEqual(ImpEngine.liveEngineCount, 1, "the conversation still holds the model")
        chat = nil
        _ = (engine, chat)
        XCTAssertEqual(ImpEngine.liveEngineCount, 0)
    }

    // MARK: helpers

    func assertThrows(_ expected: ImpError, _ body: @escaping () async throws -> Void,
                      file: StaticString = #filePath, line: UInt = #line) async {
        do {
            try await body()
            XCTFail("expected \(expected)", file: file, line: line)
        } catch let e as ImpError {
            XCTAssertEqual(kind(e), kind(expected), "\(e)", file: file, line: line)
            XCTAssertFalse(e.message.isEmpty, file: file, line: line)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }

    func kind(_ e: ImpError) -> String { "\(e)".components(separatedBy: "(").first! }

    func retryWhileBusy<T>(_ body: () async throws -> T) async throws -> T {
        for _ in 0..<500 {
            do { return try await body() } catch ImpError.busy { try await Task.sleep(nanoseconds: 10_000_000) }
        }
        return try await body()
    }

    func waitForLiveEngines(_ count: UInt64) async throws {
        for _ in 0..<1000 where ImpEngine.liveEngineCount != count {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTAssertEqual(ImpEngine.liveEngineCount, count)
    }
}

/// Progress fractions reported from the loading thread.
final class Fractions: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Float] = []
    func add(_ f: Float) { lock.withLock { list.append(f) } }
    var values: [Float] { lock.withLock { list } }
}
