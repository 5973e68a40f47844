import Foundation
import ImpAppLogic
import ImpKit

public extension CatalogModel {
    static func fake(id: String = "imp-3b", name: String = "Imp 3B", downloadable: Bool = true,
                     size: UInt64 = 2_400_000_000, memory: UInt64 = 2_750_000_000) -> CatalogModel {
        let file = PublishedFile(fileName: "\(id).gguf", url: "https://example.org/\(id).gguf", sizeBytes: size,
                                 sha256: String(repeating: "a", count: 64), quantization: "q4_k")
        // With no published file, the model is made from the hub (as every
        // shipped entry is).
        return CatalogModel(
            id: id, displayName: name, variant: "imp-phi2", sourceRepo: "MILVLG/\(id)", imageSize: 384,
            memoryBytes: memory, goodFor: "Everyday questions", files: downloadable ? [file] : [],
            howToGet: downloadable ? nil : "It is made on this device from its authors' version on the Hugging Face hub.",
            downloadBytes: downloadable ? nil : 6_400_000_000)
    }
}

public extension InstalledModel {
    static func fake(id: String = "imp-3b", catalogId: String? = "imp-3b", problem: String? = nil,
                     imageSize: Int = 384) -> InstalledModel {
        InstalledModel(id: id, path: "/models/\(id).gguf", sizeBytes: 2_400_000_000, sha256: nil, verified: true,
                       catalogId: catalogId, origin: .adopted, installedAtMs: 1,
                       details: problem == nil ? .fake(imageSize: imageSize) : nil, problem: problem)
    }
}

public extension SavedTurn {
    /// A finished turn as the history keeps it.
    static func fake(_ question: String, _ answer: String, at ms: UInt64 = 1) -> SavedTurn {
        SavedTurn(question: question, answer: answer, stopReason: "eos", askedAtMs: ms,
                  timings: TurnTimings(visionMs: 0, prefillTokens: 0, prefillMs: 0, decodeTokens: 0, decodeMs: 0))
    }
}

/// A transfer (download, import, verification) driven by the test.
public final class FakeTransfer: Sendable {
    public let source: String
    private let continuation: AsyncThrowingStream<TransferEvent, Error>.Continuation
    public let cancelled = Locked(false)

    init(source: String, continuation: AsyncThrowingStream<TransferEvent, Error>.Continuation) {
        self.source = source
        self.continuation = continuation
    }

    public func progress(_ done: UInt64, of total: UInt64?) {
        continuation.yield(.progress(doneBytes: done, totalBytes: total))
    }

    public func finish(_ event: TransferEvent) {
        continuation.yield(event)
        continuation.finish()
    }

    public func fail(_ error: ImpError) { continuation.finish(throwing: error) }
}

/// An install from the hub driven by the test.
public final class FakeInstall: Sendable {
    public let catalogId: String
    private let continuation: AsyncThrowingStream<InstallEvent, Error>.Continuation
    public let cancelled = Locked(false)

    init(catalogId: String, continuation: AsyncThrowingStream<InstallEvent, Error>.Continuation) {
        self.catalogId = catalogId
        self.continuation = continuation
    }

    public func progress(_ stage: InstallStage, _ fraction: Double) {
        continuation.yield(.progress(stage: stage, done: 0, total: nil, fraction: fraction))
    }

    public func finish(_ model: InstalledModel) {
        continuation.yield(.installed(model))
        continuation.finish()
    }

    public func fail(_ error: ImpError) { continuation.finish(throwing: error) }
}

/// The model store in memory. Every call that could use the network is
/// counted in `networkCalls`.
public final class FakeLibrary: ModelLibrary, @unchecked Sendable {
    public let catalogModels = Locked<[CatalogModel]>([])
    public let models = Locked<[InstalledModel]>([])
    public let pending = Locked<[PendingDownload]>([])
    public let fits = Locked<[ModelFit]>([])
    public let transfers = Locked<[FakeTransfer]>([])
    public let installs = Locked<[FakeInstall]>([])
    public let removed = Locked<[String]>([])
    public let discarded = Locked<[String]>([])
    public let networkCalls = Locked(0)
    public let failure = Locked<ImpError?>(nil)

    public init(catalog: [CatalogModel] = [], installed: [InstalledModel] = []) {
        catalogModels.mutate { $0 = catalog }
        models.mutate { $0 = installed }
    }

    public var catalog: [CatalogModel] { catalogModels.current }

    public func installed() throws(ImpError) -> [InstalledModel] {
        if let failure = failure.current { throw failure }
        return models.current
    }

    public func pendingDownloads() throws(ImpError) -> [PendingDownload] { pending.current }

    public func discardDownload(id: String) throws(ImpError) {
        discarded.mutate { $0.append(id) }
        pending.mutate { $0.removeAll { $0.id == id } }
    }

    public func deviceFit(_ device: DeviceProfile) throws(ImpError) -> [ModelFit] { fits.current }

    public func download(_ source: DownloadSource) -> AsyncThrowingStream<TransferEvent, Error> {
        networkCalls.mutate { $0 += 1 }
        let id = if case .catalog(let id, _) = source { id } else { "url" }
        return transfer("download:\(id)")
    }

    public func installFromHub(catalogId: String) -> AsyncThrowingStream<InstallEvent, Error> {
        install(catalogId)
    }

    /// A repository id, or a link ending in .gguf; the real reading is the
    /// core's (tested there and end to end on the real store).
    public func modelAddress(_ text: String, sha256: String?) throws(ImpError) -> ModelAddress {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasSuffix(".gguf") { return .ggufUrl(url: text, sha256: sha256) }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, !parts.contains(where: { $0.isEmpty || $0.contains(" ") }) {
            return .hubRepo(repo: text, revision: "main")
        }
        throw .invalidAddress("\"\(text)\" is neither a Hugging Face repository (owner/name) nor a link.")
    }

    /// The addresses `addModel` was asked for, in order.
    public let addresses = Locked<[ModelAddress]>([])

    public func addModel(_ address: ModelAddress) -> AsyncThrowingStream<InstallEvent, Error> {
        addresses.mutate { $0.append(address) }
        return install("\(address)")
    }

    private func install(_ what: String) -> AsyncThrowingStream<InstallEvent, Error> {
        networkCalls.mutate { $0 += 1 }
        let (stream, continuation) = AsyncThrowingStream<InstallEvent, Error>.makeStream()
        let install = FakeInstall(catalogId: what, continuation: continuation)
        continuation.onTermination = { reason in
            if case .cancelled = reason { install.cancelled.mutate { $0 = true } }
        }
        installs.mutate { $0.append(install) }
        return stream
    }

    public var lastInstall: FakeInstall? { installs.current.last }

    public func importFile(path: String, inPlace: Bool, expectedSHA256: String?)
        -> AsyncThrowingStream<TransferEvent, Error>
    {
        transfer("import:\(path)")
    }

    public func verify(id: String) -> AsyncThrowingStream<TransferEvent, Error> {
        transfer("verify:\(id)")
    }

    public func remove(id: String) throws(ImpError) {
        removed.mutate { $0.append(id) }
        models.mutate { $0.removeAll { $0.id == id } }
    }

    public var lastTransfer: FakeTransfer? { transfers.current.last }

    private func transfer(_ source: String) -> AsyncThrowingStream<TransferEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream<TransferEvent, Error>.makeStream()
        let transfer = FakeTransfer(source: source, continuation: continuation)
        continuation.onTermination = { reason in
            if case .cancelled = reason { transfer.cancelled.mutate { $0 = true } }
        }
        transfers.mutate { $0.append(transfer) }
        return stream
    }
}

/// Conversations in memory.
public final class FakeArchive: ConversationArchive, @unchecked Sendable {
    public let conversations = Locked<[SavedConversation]>([])
    public let pictures = Locked<[String: Picture]>([:])
    public let failure = Locked<ImpError?>(nil)
    /// A JPEG's first bytes: what the history's thumbnails start with.
    public static let thumbnailBytes = Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3])
    private let counter = Locked(0)

    public init() {}

    public func create(modelId: String, picture: Picture) throws(ImpError) -> SavedConversation {
        if let failure = failure.current { throw failure }
        let n = counter.mutate { $0 += 1; return $0 }
        let saved = SavedConversation(id: "c\(n)", modelId: modelId, createdAtMs: UInt64(n) * 1000,
                                      updatedAtMs: UInt64(n) * 1000, turns: [])
        conversations.mutate { $0.insert(saved, at: 0) }
        pictures.mutate { $0[saved.id] = picture }
        return saved
    }

    public func append(_ turn: SavedTurn, to id: String) throws(ImpError) -> SavedConversation {
        if let failure = failure.current { throw failure }
        return try conversations.mutate { list throws(ImpError) -> SavedConversation in
            guard let index = list.firstIndex(where: { $0.id == id }) else { throw ImpError.notFound(id) }
            list[index].turns.append(turn)
            list[index].updatedAtMs = turn.askedAtMs
            let updated = list.remove(at: index)
            list.insert(updated, at: 0)
            return updated
        }
    }

    public func list(offset: UInt32, limit: UInt32) throws(ImpError) -> HistoryPage {
        if let failure = failure.current { throw failure }
        let all = conversations.current
        let items = all.dropFirst(Int(offset)).prefix(Int(limit)).map { c in
            ConversationSummary(id: c.id, modelId: c.modelId, createdAtMs: c.createdAtMs,
                                updatedAtMs: c.updatedAtMs, turnCount: UInt32(c.turns.count),
                                firstQuestion: c.turns.first?.question, lastAnswer: c.turns.last?.answer)
        }
        return HistoryPage(items: Array(items), total: UInt64(all.count), skipped: 0)
    }

    public func load(id: String) throws(ImpError) -> SavedConversation {
        guard let found = conversations.current.first(where: { $0.id == id }) else { throw .notFound(id) }
        return found
    }

    public func thumbnail(id: String) throws(ImpError) -> Data {
        guard conversations.current.contains(where: { $0.id == id }) else { throw .notFound(id) }
        return Self.thumbnailBytes
    }

    public func delete(id: String) throws(ImpError) {
        if let failure = failure.current { throw failure }
        conversations.mutate { $0.removeAll { $0.id == id } }
    }

    public func deleteAll() throws(ImpError) {
        if let failure = failure.current { throw failure }
        conversations.mutate { $0 = [] }
    }
}

/// A benchmark the test drives.
public final class FakeBenchmark: BenchmarkRunning, @unchecked Sendable {
    public let runs = Locked<[(target: BenchmarkTarget, continuation: AsyncThrowingStream<BenchmarkEvent, Error>.Continuation)]>([])

    public init() {}

    public func run(_ target: BenchmarkTarget, options: BenchmarkOptions) -> AsyncThrowingStream<BenchmarkEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream<BenchmarkEvent, Error>.makeStream()
        runs.mutate { $0.append((target, continuation)) }
        return stream
    }

    public static func record(visionS: Double = 1.2, genTokS: Double = 9.5) -> BenchmarkRecord {
        BenchmarkRecord(model: "imp-3b", weightsDtype: "q4_k", imageSize: 384, promptTokens: 41, genTokens: 64,
                        threads: 2, loadS: 0.02, runs: [], visionS: visionS, promptTokS: 120, genTokS: genTokS,
                        totalS: 8.1, firstRunTotalS: 8.4, peakRssBytes: 0, peakAnonRssBytes: 0, json: "{}",
                        questionTokens: 10, ttftColdS: 2.4, ttftAheadS: 0.38, kernels: "neoni8mm")
    }
}

/// Wi-Fi, or a network that may cost the person, as the test sets it.
public final class FakeNetwork: NetworkCost, Sendable {
    public let expensive: Locked<Bool>
    public init(expensive: Bool = false) { self.expensive = Locked(expensive) }
    public var isExpensive: Bool { expensive.current }
}

public struct FakeDevice: DeviceFacts {
    public var totalRam: UInt64
    public var availableRam: UInt64?
    public var freeStorage: UInt64
    public var performanceCores: Int?
    public var allCores: Int

    public init(totalRam: UInt64 = 8_000_000_000, availableRam: UInt64? = 5_000_000_000,
                freeStorage: UInt64 = 64_000_000_000, performanceCores: Int? = 2, allCores: Int = 6) {
        (self.totalRam, self.availableRam, self.freeStorage) = (totalRam, availableRam, freeStorage)
        (self.performanceCores, self.allCores) = (performanceCores, allCores)
    }

    public func profile() -> DeviceProfile {
        DeviceProfile(totalRamBytes: totalRam, availableRamBytes: availableRam, freeStorageBytes: freeStorage)
    }
}
