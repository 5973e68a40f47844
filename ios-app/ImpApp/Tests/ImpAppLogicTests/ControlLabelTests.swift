import Foundation
import ImpAppFakes
import ImpKit
import XCTest

@testable import ImpAppLogic

/// Every control a screen shows, in every state reached here, has words for
/// VoiceOver: a label, a hint, and no two controls of a screen share an id or a
/// label (VoiceOver users tell them apart by label).
@MainActor
final class ControlLabelTests: XCTestCase, @unchecked Sendable {
    var checked = 0

    func assertLabelled(_ screen: any DescribesControls, _ where_: String, file: StaticString = #filePath,
                        line: UInt = #line) {
        let controls = screen.controls
        XCTAssertFalse(controls.isEmpty, "\(where_): no controls", file: file, line: line)
        for control in controls {
            checked += 1
            XCTAssertFalse(control.label.trimmingCharacters(in: .whitespaces).isEmpty,
                           "\(where_): \(control.id) has no label", file: file, line: line)
            XCTAssertFalse(control.hint.trimmingCharacters(in: .whitespaces).isEmpty,
                           "\(where_): \(control.id) has no hint", file: file, line: line)
            XCTAssertTrue(control.hint.hasSuffix("."), "\(where_): \(control.id) hint is not a sentence",
                          file: file, line: line)
            XCTAssertNotEqual(control.label.lowercased(), "button", file: file, line: line)
        }
        XCTAssertEqual(Set(controls.map(\.id)).count, controls.count, "\(where_): duplicate ids", file: file, line: line)
        let labels = controls.map(\.label)
        let repeated = Set(labels.filter { label in labels.filter { $0 == label }.count > 1 })
        // Per-answer and per-row actions repeat by design; VoiceOver reads them
        // after their answer or row, which names them.
        let repeatable: Set<String> = ["Copy answer", "Share answer", "Read aloud", "Delete"]
        XCTAssertTrue(repeated.isSubset(of: repeatable), "\(where_): repeated labels \(repeated)",
                      file: file, line: line)
    }

    func testTheCaptureScreen() async {
        for access in [CameraAccess.notDetermined, .denied, .granted] {
            let rig = Rig()
            rig.camera.access = access
            let vm = CaptureViewModel(camera: rig.camera, preparer: PicturePreparer(decoder: rig.decoder),
                                      haptics: rig.haptics, settings: { AppSettings() })
            assertLabelled(vm, "capture idle")
            await vm.appeared()
            assertLabelled(vm, "capture \(access)")
        }
        let rig = Rig()
        rig.camera.isAvailable = false
        let vm = CaptureViewModel(camera: rig.camera, preparer: PicturePreparer(decoder: rig.decoder),
                                  haptics: rig.haptics, settings: { AppSettings() })
        await vm.appeared()
        assertLabelled(vm, "capture without camera")
    }

    func testTheConversationScreenThroughAnAnswer() async {
        let rig = Rig()
        rig.engine.encodeGate.close()
        let chat = rig.conversation()
        assertLabelled(chat, "preparing")
        rig.engine.encodeGate.open()
        await eventually { chat.state == .ready }
        assertLabelled(chat, "ready")
        chat.question = "What?"
        assertLabelled(chat, "question typed")
        chat.describe()
        let answer = await rig.nextAnswer(after: 0)
        assertLabelled(chat, "waiting")
        answer?.send("Words.")
        await eventually { chat.turn(0)?.status == .streaming }
        assertLabelled(chat, "streaming")
        answer?.finish()
        await eventually { chat.state == .ready }
        assertLabelled(chat, "answered")
        chat.ask("Again?")
        let second = await rig.nextAnswer(after: 1)
        second?.fail(.outOfMemory("x"))
        await eventually { chat.problem != nil }
        assertLabelled(chat, "failed")
        await chat.voice.toggle()
        assertLabelled(chat, "listening")
    }

    func testTheModelsScreenInEveryTransferState() async {
        let rig = Rig(installed: [.fake(), .fake(id: "old", catalogId: nil, problem: "Missing.")],
                      catalog: [.fake(), .fake(id: "imp-2b", name: "Imp 2B"), .fake(id: "imp-4b", name: "Imp 4B", downloadable: false)])
        rig.library.pending.mutate { $0 = [PendingDownload(id: "imp-2b", doneBytes: 5)] }
        let vm = ModelsViewModel(library: rig.library, device: rig.device, network: rig.network,
                                 announcements: rig.announcements, chosenId: { "imp-3b" }, wifiOnly: { true })
        vm.refresh()
        assertLabelled(vm, "models paused")
        vm.resume("imp-2b")
        assertLabelled(vm, "models downloading")
        rig.library.lastTransfer?.fail(.networkFailed("x"))
        await eventually { if case .failed = vm.catalog[1].transfer { true } else { false } }
        assertLabelled(vm, "models failed")
        vm.importFile(FakePickedFile(path: "/f.gguf"))
        vm.verify("imp-3b")
        vm.requestDelete("old")
        assertLabelled(vm, "models importing, verifying, confirming")
        vm.cancelDelete()
        vm.openAdd()
        vm.editAdd(text: "a cat", sha256: "")
        vm.confirmAdd()
        assertLabelled(vm, "models adding, explained")
        vm.editAdd(text: "someone/imp-custom", sha256: "")
        vm.confirmAdd()
        assertLabelled(vm, "models adding a repository")
        rig.network.expensive.mutate { $0 = true }
        vm.download("imp-4b")
        assertLabelled(vm, "models asking about mobile data")
    }

    func testTheHistorySettingsAndBenchmarkScreens() async {
        let rig = Rig()
        for i in 0..<3 {
            let c = try! rig.archive.create(modelId: "imp-3b", picture: .encoded(Data([UInt8(i)])))
            _ = try! rig.archive.append(.fake("Q\(i)?", "A.", at: UInt64(i)), to: c.id)
        }
        let history = HistoryViewModel(archive: rig.archive, originals: nil, announcements: rig.announcements,
                                       modelName: { _ in "Imp 3B" })
        history.refresh()
        assertLabelled(history, "history")
        history.requestDeleteAll()
        assertLabelled(history, "history confirming")

        let settings = SettingsViewModel(storage: MemorySettingsStorage(), device: FakeDevice())
        assertLabelled(settings, "settings")

        let benchmark = BenchmarkViewModel(runner: rig.benchmark, announcements: rig.announcements)
        assertLabelled(benchmark, "benchmark unavailable")
        benchmark.setModel(path: "/m.gguf", name: "M")
        assertLabelled(benchmark, "benchmark ready")
        benchmark.start(options: BenchmarkOptions(imageSize: nil, promptTokens: 41, genTokens: 64, threads: nil,
                                                  repeat: 3))
        assertLabelled(benchmark, "benchmark running")
        XCTAssertGreaterThan(checked, 20, "the walk saw the controls")
    }

    func testEveryProblemHasWordsAndItsButtonToo() async {
        var problems: [Problem] = [.cameraDenied, .cameraUnavailable, .microphoneDenied, .voiceUnavailable, .noModel]
        let errors: [ImpError] = [
            .modelUnusable("m"), .imageUnusable("m"), .inputTooLong("m"), .cancelled, .outOfMemory("m"), .busy,
            .noSpace("m"), .networkFailed("m"), .verificationFailed("m"), .notDownloadable("m"), .notFound("m"),
            .internalError("m"),
        ]
        for context in [ProblemContext.loadingModel, .encodingPicture, .answering, .transfer, .history, .benchmark] {
            problems += errors.map { Problem($0, while: context) }
        }
        let kinds = Set(problems.map(\.kind))
        XCTAssertEqual(kinds, Set(Problem.Kind.allCases), "every kind is reachable from a platform or core error")
        for problem in problems {
            XCTAssertFalse(problem.title.isEmpty)
            XCTAssertFalse(problem.message.isEmpty, "\(problem.kind)")
            XCTAssertEqual(problem.recoveryTitle == nil, problem.recovery == nil)
            XCTAssertEqual(problem.recoveryHint == nil, problem.recovery == nil)
        }
    }

    /// The core's words name paths, offsets and checksums: VoiceOver must not
    /// read them out with every failure (they are shown on request).
    func testTheCoresTechnicalWordsAreDetailsNeverAnnounced() async {
        let technical = "/private/var/mobile/Models/imp-3b-196.gguf: tensor blk.7 ends at 0x7f3a past the end"
        let kinds: [(ImpError, ProblemContext)] = [
            (.modelUnusable(technical), .loadingModel), (.notFound(technical), .loadingModel),
            (.notFound(technical), .history), (.networkFailed(technical), .transfer),
            (.verificationFailed(technical), .transfer), (.internalError(technical), .answering),
            (.internalError(technical), .history),
        ]
        for (error, context) in kinds {
            let problem = Problem(error, while: context)
            XCTAssertFalse(problem.announcement.contains("imp-3b-196"), "\(problem.announcement)")
            XCTAssertFalse(problem.announcement.contains("0x"), "\(problem.announcement)")
            XCTAssertEqual(problem.details, technical, "kept for the screen's details")
        }
        // Errors Swift raised (not the core's) are technical too.
        struct Odd: Error {}
        let odd = Problem(any: Odd(), while: .answering)
        XCTAssertFalse(odd.announcement.contains("Odd"))
        XCTAssertTrue(odd.details?.contains("Odd") ?? false)
        // Words meant for the person stay in the message.
        XCTAssertTrue(Problem(.outOfMemory("The model needs 2.8 GB."), while: .answering).announcement
            .contains("2.8 GB"))
        XCTAssertNil(Problem(.outOfMemory("The model needs 2.8 GB."), while: .answering).details)
        // The catalogue's how-to continues a sentence: said as one of its own.
        XCTAssertEqual(Problem(.notDownloadable("it is made on this device"), while: .transfer).message,
                       "It is made on this device.")
    }
}
