import Foundation
import XCTest
@testable import ImpKit

/// The store, history and benchmark through the Swift wrapper, on the host-built
/// core; tests/swift.sh serves the converted fixture over loopback HTTP.
final class ModelStoreTests: XCTestCase {
    let env = ProcessInfo.processInfo.environment
    var fixtures: String { env["IMP_FIXTURES"] ?? "../../tests/fixtures" }
    var gguf: String { env["IMP_GGUF"]! }

    func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    func last<E>(_ stream: AsyncThrowingStream<E, Error>) async throws -> (E?, [E]) {
        var all: [E] = []
        for try await event in stream { all.append(event) }
        return (all.last, all)
    }

    func testTheCatalogueAndTheFitVerdicts() throws {
        let store = try ModelStore(directory: try temporaryDirectory())
        XCTAssertEqual(store.catalog.map(\.id), ["imp-3b-196", "imp-3b", "imp-2b", "imp-4b"])
        XCTAssertTrue(store.catalog.allSatisfy { $0.howToGet?.contains("Hugging Face hub") == true })
        let phone = DeviceProfile(totalRamBytes: 6_000_000_000, availableRamBytes: nil,
                                  freeStorageBytes: 64_000_000_000)
        let fits = Dictionary(uniqueKeysWithValues: try store.deviceFit(phone).map { ($0.catalogId, $0.verdict) })
        XCTAssertEqual(fits["imp-2b"], .fits)
        XCTAssertEqual(fits["imp-3b-196"], .tight)
        XCTAssertEqual(fits["imp-4b"], .doesNotFit)
    }

    /// The phone-only first run through the wrapper, on the real core and the
    /// loopback hub tests/swift.sh starts (imp-test-hub serving the sharded
    /// 384-px fixture as the catalogue's imp-3b repository).
    func testACatalogueModelIsMadeFromTheHub() async throws {
        let store = try ModelStore(directory: try temporaryDirectory(), hubEndpoint: env["IMP_HUB"]!)
        let (end, events) = try await last(store.installFromHub(catalogId: "imp-3b"))
        guard case .installed(let model) = end else { return XCTFail("\(String(describing: end))") }
        let fractions = events.compactMap { e -> Double? in
            if case .progress(_, _, _, let fraction) = e { return fraction } else { return nil }
        }
        XCTAssertEqual(fractions, fractions.sorted())
        XCTAssertEqual(fractions.last, 1.0)
        let stages = Set(events.compactMap { e -> InstallStage? in
            if case .progress(let stage, _, _, _) = e { return stage } else { return nil }
        })
        XCTAssertEqual(stages, [.downloading, .converting, .verifying])
        XCTAssertTrue(model.verified)
        guard case .hub = model.origin else { return XCTFail("\(model.origin)") }
        XCTAssertEqual(try store.installed().map(\.id), ["imp-3b"])
    }

    /// "Add a model" through the wrapper: a repository no catalogue lists,
    /// pasted as its page's link, is made from the hub under its own id;
    /// words that name no model are refused in words.
    func testAModelIsAddedByItsPageLink() async throws {
        let hub = env["IMP_HUB"]!
        let store = try ModelStore(directory: try temporaryDirectory(), hubEndpoint: hub)
        let address = try store.modelAddress(" \(hub)/someone/Imp-tiny ")
        XCTAssertEqual(address, .hubRepo(repo: "someone/Imp-tiny", revision: "main"))
        let (end, _) = try await last(store.addModel(address))
        guard case .installed(let model) = end else { return XCTFail("\(String(describing: end))") }
        XCTAssertEqual(model.id, "imp-tiny-q4_k")
        XCTAssertNil(model.catalogId)
        do {
            _ = try store.modelAddress("a cat")
            XCTFail("a cat is not a model")
        } catch {
            guard case .invalidAddress(let why) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("repository"), why)
        }
    }

    func testDownloadsVerifiesAndRemoves() async throws {
        let store = try ModelStore(directory: try temporaryDirectory())
        let url = env["IMP_GGUF_URL"]!, sha = env["IMP_GGUF_SHA256"]!
        let (end, events) = try await last(store.download(.url(url: url, sha256: sha, size: nil, id: "tiny")))
        guard case .installed(let model) = end else { return XCTFail("\(String(describing: end))") }
        XCTAssertTrue(model.verified)
        XCTAssertEqual(model.details?.weightsDtype, "q8_0")
        XCTAssertTrue(events.contains { if case .progress = $0 { true } else { false } })
        guard case .verified(_, _, _, let ok) = try await last(store.verify(id: "tiny")).0 else {
            return XCTFail("no verification")
        }
        XCTAssertTrue(ok)
        try store.remove(id: "tiny")
        XCTAssertTrue(try store.installed().isEmpty)
        do {
            _ = try await last(store.download(.url(url: url, sha256: String(repeating: "0", count: 64),
                                                   size: nil, id: "tiny")))
            XCTFail("a wrong checksum must fail")
        } catch let error as ImpError {
            guard case .verificationFailed = error else { return XCTFail("\(error)") }
        }
        do {
            _ = try await last(store.download(.catalog(id: "imp-2b", quantization: nil)))
            XCTFail("nothing is published")
        } catch let error as ImpError {
            guard case .notDownloadable(let how) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(how.contains("Hugging Face hub"))
        }
    }

    func testImportsAFileAndLoadsIt() async throws {
        let store = try ModelStore(directory: try temporaryDirectory())
        guard case .installed(let model) = try await last(store.importFile(path: gguf)).0 else {
            return XCTFail("not installed")
        }
        let engine = try await ImpEngine.load(path: model.path)
        XCTAssertEqual(engine.details.weightsDtype, "q8_0")
    }

    func testTheHistoryKeepsConversations() throws {
        let history = try ConversationHistory(directory: try temporaryDirectory())
        let created = try history.create(modelId: "tiny", picture: .file("\(fixtures)/images/photo.png"))
        let answer = AnswerEvent.finished(text: "A gradient.", tail: "", stopReason: .endOfAnswer, visionMs: 12,
                                          prefillTokens: 236, prefillMs: 80, decodeTokens: 3, decodeMs: 9)
        _ = try history.append(SavedTurn.of(question: "What is this?", answer: answer, askedAtMs: 1000)!,
                               to: created.id)
        let page = try history.list()
        XCTAssertEqual(page.total, 1)
        XCTAssertEqual(page.items.first?.firstQuestion, "What is this?")
        XCTAssertEqual(try history.load(id: created.id).turns.first?.timings.prefillTokens, 236)
        XCTAssertEqual(Array(try history.thumbnail(id: created.id).prefix(2)), [0xFF, 0xD8])
        try history.delete(id: created.id)
        XCTAssertThrowsError(try history.load(id: created.id))
    }

    func testTheBenchmarkReportsStagesAndARecord() async throws {
        let options = BenchmarkOptions(imageSize: nil, promptTokens: 8, genTokens: 2, threads: 1, repeat: 2)
        let (end, events) = try await last(Benchmark.run(.model(path: gguf), options: options))
        guard case .finished(let record) = end else { return XCTFail("no record") }
        XCTAssertEqual(record.runs.count, 2)
        XCTAssertGreaterThan(record.genTokS, 0)
        XCTAssertGreaterThan(record.ttftColdS, 0)
        XCTAssertGreaterThan(record.ttftAheadS, 0)
        XCTAssertFalse(record.kernels.isEmpty)
        let runs = events.compactMap { if case .stage(.run(let index, _)) = $0 { index } else { nil } }
        XCTAssertEqual(runs, [0, 1])
    }
}
