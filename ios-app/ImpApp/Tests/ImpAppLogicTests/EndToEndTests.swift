import Foundation
import ImpAppFakes
import ImpKit
import XCTest

@testable import ImpAppLogic

#if canImport(Glibc)
import Glibc
#endif

/// The app's logic on the real core (the host-built library) and the real store
/// and history, with only the phone's hardware faked: tests/ios.sh provides the
/// fixtures and a converted fixture model (IMP_GGUF).
@MainActor
final class EndToEndTests: XCTestCase, @unchecked Sendable {
    let env = ProcessInfo.processInfo.environment
    var fixtures: String { env["IMP_FIXTURES"] ?? "../../tests/fixtures" }
    var photo: Data { try! Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/images/photo.png")) }

    func realApp(_ rig: Rig, root: URL) throws -> AppModel {
        var environment = rig.environment()
        environment.loader = CoreEngineLoader()
        environment.library = try ModelStore(directory: root.appendingPathComponent("models").path)
        environment.archive = try ConversationHistory(directory: root.appendingPathComponent("history").path)
        environment.benchmark = CoreBenchmark()
        return AppModel(environment: environment)
    }

    func ready(_ app: AppModel) async {
        await eventually("the model loads", timeout: 120) {
            if case .ready = app.engine.state { true } else { false }
        }
    }

    /// Import a model, take a picture, Describe, hear it streamed in sentences,
    /// Stop, ask a follow-up; then find it in History, reopen it (the picture is
    /// encoded again) and ask once more. Nothing opens a socket while answering.
    func testTheWholePathOnTheRealCore() async throws {
        guard let gguf = env["IMP_GGUF"] else { throw XCTSkip("IMP_GGUF is set by tests/ios.sh") }
        let rig = Rig(voiceOver: true, installed: [], chosen: nil)
        rig.camera.picture = .encoded(photo)
        var settings = AppSettings()
        settings.answerLength = .long  // room for Stop to stop something
        rig.storage.save(settings)
        let app = try realApp(rig, root: temporaryDirectory())
        app.launch()
        XCTAssertTrue(app.isFirstRun)

        app.models.importFile(FakePickedFile(path: gguf))
        await ready(app)
        XCTAssertEqual(rig.settings.modelId, app.models.installed.first?.id, "the imported model was chosen")
        guard case .ready(_, let details) = app.engine.state else { return }
        XCTAssertEqual(details.weightsDtype, "q8_0")
        XCTAssertEqual(details.imageTokens, 196)

        await app.capture.appeared()
        await app.capture.takePicture()
        guard let chat = app.conversation else { return XCTFail("no conversation") }
        await eventually("the picture is encoded before a question", timeout: 60) { chat.pictureState == .ready }

        let before = socketInodes()
        chat.describe()
        await eventually("the answer streams", timeout: 60) { chat.turn(0)?.status == .streaming }
        var during = socketInodes()
        chat.stop()
        XCTAssertEqual(chat.turn(0)?.status, .stopped, "the answer was still being written when stopped")
        let partial = chat.turn(0)?.answer ?? ""
        XCTAssertFalse(partial.isEmpty)
        XCTAssertEqual(rig.announcer.texts.last, "Stopped.")

        let spokenBefore = rig.voiceOverVoice.spoken.count
        chat.ask("What colour is it?")
        let deadline = Date().addingTimeInterval(120)
        while !(chat.turn(1)?.isDone ?? false), Date() < deadline {
            during.formUnion(socketInodes())
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        guard case .complete(let reason) = chat.turn(1)?.status else {
            return XCTFail("follow-up: \(String(describing: chat.turn(1)?.status))")
        }
        XCTAssertTrue([StopReason.endOfAnswer, .maxTokens].contains(reason))
        #if os(Linux)
        XCTAssertEqual(during.subtracting(before), [], "a socket was opened while answering")
        #endif

        // What was said is what was written, in whole sentences, in order.
        rig.voiceOverVoice.finishAll()
        await eventually { rig.announcer.texts.last == AnswerNarrator.endStatus(reason) }
        func letters(_ s: String) -> String { s.filter { !$0.isWhitespace && !"*#-•`_".contains($0) } }
        let answer = letters(chat.turn(1)!.answer)
        let sentences = rig.voiceOverVoice.spoken.dropFirst(spokenBefore)
        XCTAssertFalse(sentences.isEmpty, "the follow-up was spoken")
        var rest = Substring(answer)
        for sentence in sentences {
            guard let range = rest.range(of: letters(sentence)) else {
                return XCTFail("spoken but not in the answer, or out of order: \(sentence)")
            }
            rest = rest[range.upperBound...]
        }

        // History: saved, listed, reopened with its picture, asked again.
        let savedId = try XCTUnwrap(chat.savedId)
        app.closeConversation()
        app.history.refresh()
        XCTAssertEqual(app.history.rows.map(\.id), [savedId])
        XCTAssertEqual(app.history.rows.first?.title, "Describe")
        XCTAssertEqual(app.history.rows.first?.summary.turnCount, 2)
        app.history.open(savedId)
        guard let reopened = app.conversation else { return XCTFail("not reopened") }
        XCTAssertEqual(reopened.turns.map(\.status), [.earlier, .earlier])
        XCTAssertEqual(reopened.turns.map(\.answer), [partial, chat.turn(1)!.answer])
        guard case .encoded(let kept) = reopened.picture else { return XCTFail("\(reopened.picture)") }
        XCTAssertEqual(kept, photo, "the original picture, not the 256-px thumbnail, is encoded again")
        reopened.ask("Is there text?")
        await eventually("the reopened conversation answers", timeout: 120) { reopened.turn(2)?.isDone ?? false }
        guard case .complete = reopened.turn(2)?.status else {
            return XCTFail("\(String(describing: reopened.turn(2)?.status))")
        }
        app.closeConversation()
        app.history.refresh()
        XCTAssertEqual(app.history.rows.first?.summary.turnCount, 3)
        XCTAssertEqual(rig.library.networkCalls.current, 0)
    }

    /// The resolution mode reaches the core: Fast runs a 384-px model at 196 px,
    /// Detailed at its own size; the streamed answer is the core's own.
    func testResolutionModesAndTheStreamedTextOnACheckpoint() async throws {
        let path = "\(fixtures)/tiny-imp-384"
        let model = InstalledModel(
            id: "tiny-384", path: path, sizeBytes: 0, sha256: nil, verified: false, catalogId: nil,
            origin: .inPlace(path: path), installedAtMs: 0, details: try ImpEngine.inspect(path: path), problem: nil)
        let rig = Rig()
        let session = EngineSession(loader: CoreEngineLoader(), device: rig.device)
        session.use(model, settings: rig.settings)
        let fast = try await session.readyEngine()
        XCTAssertEqual(fast.details.imageTokens, 196)
        var detailed = rig.settings
        detailed.resolution = .detailed
        session.use(model, settings: detailed)
        let full = try await session.readyEngine()
        XCTAssertEqual(full.details.imageTokens, 729)

        var short = rig.settings
        short.answerLength = .short
        rig.storage.save(short)
        let chat = rig.conversation(session: session, picture: .file("\(fixtures)/images/photo.png"))
        chat.ask("What is in this picture?")
        await eventually("answered", timeout: 120) { chat.turn(0)?.isDone ?? false }
        // The same question straight through ImpKit gives the same text.
        let direct = try await ImpEngine.load(path: path)
        let conversation = try await direct.startConversation(.file("\(fixtures)/images/photo.png"))
        var text = ""
        for try await event in conversation.ask("What is in this picture?", settings: .init(maxTokens: 96)) {
            if case .finished(let whole, _, _, _, _, _, _, _) = event { text = whole }
        }
        XCTAssertEqual(chat.turn(0)?.answer, text)
        XCTAssertEqual(chat.turn(0)?.status, .complete(.maxTokens))
    }

    func testTheBenchmarkScreenOnTheRealCore() async throws {
        guard let gguf = env["IMP_GGUF"] else { throw XCTSkip("IMP_GGUF is set by tests/ios.sh") }
        let rig = Rig()
        let vm = BenchmarkViewModel(runner: CoreBenchmark(), announcements: rig.announcements)
        vm.setModel(path: gguf, name: "tiny")
        var steps: Set<String> = []
        vm.start(options: BenchmarkOptions(imageSize: nil, promptTokens: 8, genTokens: 2, threads: 1, repeat: 2))
        while true {
            if case .running(let step, _) = vm.state { steps.insert(step) }
            if case .finished = vm.state { break }
            if case .failed(let problem) = vm.state { return XCTFail(problem.message) }
            try await Task.sleep(nanoseconds: 1_000_000)
        }
        guard case .finished(let report) = vm.state else { return }
        XCTAssertTrue(report.lines.first?.value.contains("q8_0") ?? false, "\(report.lines)")
        XCTAssertTrue(report.json.contains("gen_tok_s"), report.json)
        XCTAssertTrue(steps.contains("Loading tiny"), "\(steps)")
    }

    /// The socket check above can see a socket.
    func testTheSocketTripwireSeesSockets() async throws {
        #if os(Linux)
        let before = socketInodes()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(socketInodes().subtracting(before).count, 1)
        #else
        throw XCTSkip("reads /proc")
        #endif
    }
}

/// The process's open sockets, by inode (Linux: /proc/self/fd).
func socketInodes() -> Set<String> {
    let fm = FileManager.default
    let fds = (try? fm.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return Set(fds.compactMap { fd in
        (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")).flatMap { $0.hasPrefix("socket:") ? $0 : nil }
    })
}
