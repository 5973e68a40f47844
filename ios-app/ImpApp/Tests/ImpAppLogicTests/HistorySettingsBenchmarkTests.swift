import Foundation
import ImpAppFakes
import ImpKit
import XCTest

@testable import ImpAppLogic

@MainActor
final class HistoryViewModelTests: XCTestCase, @unchecked Sendable {
    func history(_ rig: Rig) -> HistoryViewModel {
        HistoryViewModel(archive: rig.archive, originals: rig.originals, announcements: rig.announcements,
                         modelName: { $0 == "imp-3b" ? "Imp 3B" : $0 }, dateText: { "day \($0 / 1000)" })
    }

    func fill(_ rig: Rig, count: Int) -> [String] {
        (0..<count).map { i in
            let c = try! rig.archive.create(modelId: "imp-3b", picture: .encoded(Data([UInt8(i)])))
            _ = try! rig.archive.append(.fake(i == 0 ? QuickPrompt.describe.question : "Question \(i)?",
                                             "Answer \(i).", at: UInt64(i + 1) * 1000), to: c.id)
            return c.id
        }
    }

    func testEmptyThenNewestFirstWithWordsForVoiceOver() async {
        let rig = Rig()
        let vm = history(rig)
        vm.refresh()
        XCTAssertEqual(vm.state, .empty)
        XCTAssertFalse(vm.controls.contains { $0.id == .deleteAll })
        _ = fill(rig, count: 3)
        vm.refresh()
        XCTAssertEqual(vm.state, .loaded)
        XCTAssertEqual(vm.rows.map(\.title), ["Question 2?", "Question 1?", "Describe"])
        XCTAssertEqual(vm.rows.first?.spoken, "Question 2? Answer: Answer 2. 1 question. Imp 3B. day 3.")
        XCTAssertEqual(vm.control(.openConversation(id: vm.rows[0].id)).label, vm.rows[0].spoken)
    }

    func testPagesThroughALongHistory() async {
        let rig = Rig()
        _ = fill(rig, count: Int(HistoryViewModel.pageSize) + 5)
        let vm = history(rig)
        vm.refresh()
        XCTAssertEqual(vm.rows.count, Int(HistoryViewModel.pageSize))
        XCTAssertTrue(vm.canLoadMore)
        XCTAssertTrue(vm.controls.contains { $0.id == .loadMore })
        vm.loadMore()
        XCTAssertEqual(vm.rows.count, Int(HistoryViewModel.pageSize) + 5)
        XCTAssertFalse(vm.canLoadMore)
        XCTAssertEqual(Set(vm.rows.map(\.id)).count, vm.rows.count)
    }

    func testOpensWithTheKeptPictureElseTheThumbnail() async {
        let rig = Rig()
        let ids = fill(rig, count: 2)
        rig.originals.keep(.encoded(Data([9, 9, 9])), for: ids[0])
        let vm = history(rig)
        var opened: [(SavedConversation, Picture)] = []
        vm.onOpen = { opened.append(($0, $1)) }
        vm.refresh()
        vm.open(ids[0])
        vm.open(ids[1])
        XCTAssertEqual(opened.map(\.0.id), ids)
        guard case .encoded(let kept) = opened[0].1, case .encoded(let thumb) = opened[1].1 else {
            return XCTFail("\(opened)")
        }
        XCTAssertEqual(kept, Data([9, 9, 9]))
        XCTAssertEqual(thumb, FakeArchive.thumbnailBytes)
        vm.open("gone")
        XCTAssertEqual(vm.state, .failed(Problem(.notFound("gone"), while: .history)))
    }

    func testDeletesOneThenAllAfterConfirming() async {
        let rig = Rig(voiceOver: true)
        let ids = fill(rig, count: 3)
        for id in ids { rig.originals.keep(.encoded(Data([1])), for: id) }
        let vm = history(rig)
        vm.refresh()
        vm.delete(ids[1])
        XCTAssertEqual(vm.rows.count, 2)
        XCTAssertNil(rig.originals.picture(for: ids[1]))
        XCTAssertEqual(rig.announcer.texts.last, "Conversation deleted.")
        vm.requestDeleteAll()
        XCTAssertTrue(vm.controls.contains { $0.id == .confirmDeleteAll })
        vm.cancelDeleteAll()
        XCTAssertEqual(rig.archive.conversations.current.count, 2)
        vm.requestDeleteAll()
        vm.confirmDeleteAll()
        XCTAssertEqual(vm.state, .empty)
        XCTAssertTrue(rig.archive.conversations.current.isEmpty)
        XCTAssertNil(rig.originals.picture(for: ids[0]))
    }

    func testPicturesOfConversationsTheStoreDroppedArePruned() async {
        let rig = Rig()
        let ids = fill(rig, count: 1)
        rig.originals.keep(.encoded(Data([1])), for: ids[0])
        rig.originals.keep(.encoded(Data([2])), for: "evicted-by-the-size-bound")
        history(rig).refresh()
        XCTAssertNotNil(rig.originals.picture(for: ids[0]))
        XCTAssertNil(rig.originals.picture(for: "evicted-by-the-size-bound"))
    }

    func testAnUnreadableHistoryIsAProblem() async {
        let rig = Rig()
        rig.archive.failure.mutate { $0 = .internalError("bad folder") }
        let vm = history(rig)
        vm.refresh()
        guard case .failed(let problem) = vm.state else { return XCTFail() }
        XCTAssertEqual(problem.kind, .storageFailed)
    }
}

@MainActor
final class SettingsViewModelTests: XCTestCase, @unchecked Sendable {
    func testChangesAreSavedAndReported() async {
        let storage = MemorySettingsStorage()
        let vm = SettingsViewModel(storage: storage, device: FakeDevice(performanceCores: 2, allCores: 6))
        var changes: [(AppSettings, AppSettings)] = []
        vm.onChange = { changes.append(($0, $1)) }
        XCTAssertEqual(vm.settings, AppSettings())
        vm.setResolution(.detailed)
        vm.setResolution(.detailed)  // no change, no report
        vm.setAnswerLength(.long)
        vm.setSpeechRate(3)
        vm.setThreads(99)
        XCTAssertEqual(changes.count, 4)
        XCTAssertEqual(storage.load()?.resolution, .detailed)
        XCTAssertEqual(storage.load()?.answerLength, .long)
        XCTAssertEqual(storage.load()?.speechRate, 1, "clamped")
        XCTAssertEqual(storage.load()?.threads, 6, "at most every core")
        XCTAssertEqual(vm.control(.resolution).value, "Detailed (384 pixels)")
        XCTAssertEqual(vm.threadChoices.count, 7)
        XCTAssertEqual(vm.threadTitle(nil), "Automatic: performance cores (2)")
    }

    func testResolutionModesMapToTheEngineImageSize() async {
        let device = FakeDevice(availableRam: 4_000_000_000, performanceCores: 2)
        var settings = AppSettings()
        XCTAssertEqual(settings.engineOptions(nativeImageSize: 384, device: device).imageSize, 196)
        XCTAssertEqual(settings.engineOptions(nativeImageSize: 196, device: device).imageSize, nil)
        XCTAssertEqual(settings.engineOptions(nativeImageSize: 384, device: device).threads, 2)
        XCTAssertEqual(settings.engineOptions(nativeImageSize: 384, device: device).availableMemoryBytes,
                       4_000_000_000)
        settings.resolution = .detailed
        settings.threads = 4
        XCTAssertEqual(settings.engineOptions(nativeImageSize: 384, device: device).imageSize, nil)
        XCTAssertEqual(settings.engineOptions(nativeImageSize: 384, device: device).threads, 4)
        XCTAssertEqual(settings.answerSettings.maxTokens, 256)
    }

    func testTheNoteSaysWhenDetailedChangesNothing() async {
        let vm = SettingsViewModel(storage: MemorySettingsStorage(), device: FakeDevice())
        vm.chosenModelImageSize = { 196 }
        XCTAssertTrue(vm.resolutionNote?.contains("both modes") ?? false)
        vm.chosenModelImageSize = { 384 }
        XCTAssertTrue(vm.resolutionNote?.contains("faster") ?? false)
    }

    func testSettingsSurviveInUserDefaultsAndOldKeysDecode() async throws {
        let defaults = UserDefaults(suiteName: "imp-tests-\(UUID().uuidString)")!
        let storage = DefaultsSettingsStorage(defaults: defaults)
        XCTAssertNil(storage.load())
        var settings = AppSettings()
        settings.modelId = "imp-2b"
        settings.speech = .always
        storage.save(settings)
        XCTAssertEqual(DefaultsSettingsStorage(defaults: defaults).load(), settings)
        let partial = try JSONDecoder().decode(AppSettings.self, from: Data(#"{"modelId":"x","speech":"shout"}"#.utf8))
        XCTAssertEqual(partial.modelId, "x")
        XCTAssertEqual(partial.speech, .whenVoiceOverIsOn, "an unknown value falls back to the default")
    }
}

@MainActor
final class BenchmarkViewModelTests: XCTestCase, @unchecked Sendable {
    func testRunsReleasingTheModelFirstAndShowsTableFour() async {
        let rig = Rig(voiceOver: true)
        let vm = BenchmarkViewModel(runner: rig.benchmark, announcements: rig.announcements)
        XCTAssertEqual(vm.state, .unavailable(.noModel))
        XCTAssertFalse(vm.control(.runBenchmark).isEnabled)
        vm.setModel(path: "/models/imp-3b.gguf", name: "Imp 3B")
        XCTAssertEqual(vm.state, .ready)
        var events: [String] = []
        vm.onStart = { events.append("release") }
        vm.onEnd = { events.append("reload") }
        vm.start(options: BenchmarkOptions(imageSize: nil, promptTokens: 41, genTokens: 64, threads: nil, repeat: 3))
        XCTAssertEqual(events, ["release"])
        XCTAssertEqual(rig.benchmark.runs.current.first?.target, .model(path: "/models/imp-3b.gguf"))
        let run = rig.benchmark.runs.current[0].continuation
        run.yield(.stage(.run(index: 1, of: 3)))
        await eventually { vm.state == .running(step: "Run 2 of 3", fraction: 1.0 / 3) }
        XCTAssertEqual(vm.controls.map(\.id), [.cancelBenchmark])
        run.yield(.finished(FakeBenchmark.record()))
        run.finish()
        await eventually { if case .finished = vm.state { true } else { false } }
        guard case .finished(let report) = vm.state else { return }
        XCTAssertEqual(report.lines.map(\.name), [
            "Model", "Picture size", "Threads", "Kernels", "Load", "Picture encoding", "Prompt", "Generation",
            "First word, picture given ahead", "First word, picture and question together",
            "Total per question", "First run total",
        ])
        XCTAssertEqual(report.lines.first { $0.name == "Generation" }?.value, "9.5 tokens/s")
        XCTAssertEqual(report.lines.first { $0.name == "Kernels" }?.value, "neoni8mm")
        XCTAssertEqual(report.lines.first { $0.name == "First word, picture given ahead" }?.value, "0.38 s")
        XCTAssertTrue(rig.announcer.texts.last!.contains("generation 9.5 tokens per second, first word 0.4 seconds after asking"))
        await eventually { events == ["release", "reload"] }
        XCTAssertEqual(vm.control(.runBenchmark).label, "Run again")
    }

    func testCancelAndFailure() async {
        let rig = Rig()
        let vm = BenchmarkViewModel(runner: rig.benchmark, announcements: rig.announcements)
        vm.setModel(path: "/m.gguf", name: "M")
        vm.start(options: BenchmarkOptions(imageSize: nil, promptTokens: 41, genTokens: 64, threads: nil, repeat: 3))
        vm.cancel()
        await eventually { vm.state == .ready }
        vm.start(options: BenchmarkOptions(imageSize: nil, promptTokens: 41, genTokens: 64, threads: nil, repeat: 3))
        await eventually { rig.benchmark.runs.current.count == 2 }
        rig.benchmark.runs.current[1].continuation.finish(throwing: ImpError.outOfMemory("Needs 2.8 GB."))
        await eventually { if case .failed = vm.state { true } else { false } }
        XCTAssertEqual(vm.state, .failed(Problem(.outOfMemory("Needs 2.8 GB."), while: .benchmark)))
    }
}

@MainActor
final class EngineSessionTests: XCTestCase, @unchecked Sendable {
    func testLoadsWithProgressOnceForTheSameOptions() async {
        let rig = Rig()
        rig.loader.gate.close()
        let session = EngineSession(loader: rig.loader, device: rig.device)
        XCTAssertEqual(session.state, .noModel)
        session.use(.fake(), settings: rig.settings)
        await eventually { session.state == .loading(modelId: "imp-3b", fraction: 0.5) }
        rig.loader.gate.open()
        _ = try? await session.readyEngine()
        XCTAssertEqual(session.state, .ready(modelId: "imp-3b", details: .fake()))
        session.use(.fake(), settings: rig.settings)
        XCTAssertEqual(rig.loader.loads.current.count, 1, "already loaded that way")
        XCTAssertEqual(rig.loader.loads.current.first?.options.imageSize, 196, "fast mode on a 384-px model")
        var detailed = rig.settings
        detailed.resolution = .detailed
        session.use(.fake(), settings: detailed)
        _ = try? await session.readyEngine()
        XCTAssertEqual(rig.loader.loads.current.count, 2)
        XCTAssertEqual(rig.loader.loads.current.last?.options.imageSize, nil)
    }

    func testLoadProblems() async {
        let rig = Rig()
        let session = EngineSession(loader: rig.loader, device: rig.device)
        do {
            _ = try await session.readyEngine()
            XCTFail("no model")
        } catch {
            XCTAssertEqual(error, .noModel)
        }
        for (error, kind) in [(ImpError.outOfMemory("x"), Problem.Kind.outOfMemory),
                              (.modelUnusable("bad magic"), .modelDamaged), (.notFound("gone"), .modelMissing)] {
            rig.loader.failure.mutate { $0 = error }
            session.unload()
            session.use(.fake(), settings: rig.settings)
            do {
                _ = try await session.readyEngine()
                XCTFail("\(error)")
            } catch {
                XCTAssertEqual(error.kind, kind)
            }
            guard case .failed(_, let problem) = session.state else { return XCTFail() }
            XCTAssertEqual(problem.kind, kind)
        }
        session.use(.fake(problem: "The file is missing."), settings: rig.settings)
        guard case .failed(_, let damaged) = session.state else { return XCTFail() }
        XCTAssertEqual(damaged.recovery, .openModels)
    }

    func testASupersededLoadDoesNotWin() async {
        let rig = Rig()
        rig.loader.gate.close()
        let session = EngineSession(loader: rig.loader, device: rig.device)
        session.use(.fake(id: "a"), settings: rig.settings)
        session.use(.fake(id: "b"), settings: rig.settings)
        rig.loader.gate.open()
        _ = try? await session.readyEngine()
        XCTAssertEqual(session.modelId, "b")
        session.unload()
        XCTAssertEqual(session.state, .noModel)
    }
}
