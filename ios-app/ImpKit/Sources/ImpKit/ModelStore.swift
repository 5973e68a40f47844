import Foundation
import ImpFFI

/// The models on this device, kept by the core (the same store and catalogue
/// on iOS and Android): the catalogue, installed models, downloads that resume
/// after the app was closed, imports, checks, and whether this phone can run each.
public final class ModelStore: Sendable {
    private let store: ImpFFI.ModelStore

    /// The store under `directory`; the catalogue built in, or `catalogJSON`;
    /// the Hugging Face hub, or `hubEndpoint` (a mirror, or a test's loopback hub).
    public init(directory: String, catalogJSON: String? = nil, hubEndpoint: String? = nil) throws(ImpError) {
        let store = try mapErrors {
            try ImpFFI.ModelStore.openWithHub(dir: directory, catalogJson: catalogJSON, hubEndpoint: hubEndpoint)
        }
        self.store = store
        catalog = try mapErrors { try store.catalog().map(CatalogModel.init) }
    }

    /// The catalogue the store was opened with (it does not change).
    public let catalog: [CatalogModel]

    public func installed() throws(ImpError) -> [InstalledModel] {
        try mapErrors { try store.installed().map(InstalledModel.init) }
    }

    /// Downloads that stopped before the end; downloading again resumes them.
    public func pendingDownloads() throws(ImpError) -> [PendingDownload] {
        try mapErrors { try store.pendingDownloads() }
    }

    public func discardDownload(id: String) throws(ImpError) {
        try mapErrors { try store.discardDownload(id: id) }
    }

    /// Whether this phone can run each catalogue model, with the numbers.
    public func deviceFit(_ device: DeviceProfile) throws(ImpError) -> [ModelFit] {
        try mapErrors { try store.deviceFit(device: device) }
    }

    /// Downloads, verifies and installs: `.progress`... then `.installed`.
    public func download(_ source: DownloadSource) -> AsyncThrowingStream<TransferEvent, Error> {
        let store = self.store
        return nativeWork { cancel, continuation in
            let model = try await store.download(
                source: source, listener: TransferRelay(continuation), cancel: cancel)
            return .installed(InstalledModel(model))
        }
    }

    /// Makes a catalogue model on this phone from its authors' checkpoint on the
    /// hub (downloaded and verified, converted, checked; resumes an earlier try):
    /// `.progress`... then `.installed`. Ending the iteration cancels it.
    public func installFromHub(catalogId: String) -> AsyncThrowingStream<InstallEvent, Error> {
        let store = self.store
        return nativeWork { cancel, continuation in
            let model = try await store.installFromHub(
                catalogId: catalogId, listener: InstallRelay(continuation), cancel: cancel)
            return .installed(InstalledModel(model))
        }
    }

    /// "Add a model": what the person typed (a hub repository id or page, a
    /// `.gguf` link) and an optional SHA-256, read as an address, or
    /// `.invalidAddress` saying in words what it is not. Cheap.
    public func modelAddress(_ text: String, sha256: String? = nil) throws(ImpError) -> ModelAddress {
        let sha = sha256.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        return try mapErrors { try store.modelAddress(text: text, sha256: sha) }
    }

    /// Installs the model at `address`, with one progress figure:
    /// `.progress`... then `.installed`. Ending the iteration cancels it.
    public func addModel(_ address: ModelAddress) -> AsyncThrowingStream<InstallEvent, Error> {
        let store = self.store
        return nativeWork { cancel, continuation in
            let model = try await store.addModel(
                address: address, listener: InstallRelay(continuation), cancel: cancel)
            return .installed(InstalledModel(model))
        }
    }

    /// Installs a `.gguf` the person has: copied into the store, or used in place.
    public func importFile(path: String, inPlace: Bool = false, expectedSHA256: String? = nil)
        -> AsyncThrowingStream<TransferEvent, Error>
    {
        let store = self.store
        return nativeWork { cancel, continuation in
            let model = try await store.importFile(
                path: path, mode: inPlace ? .inPlace : .copy, expectedSha256: expectedSHA256,
                listener: TransferRelay(continuation), cancel: cancel)
            return .installed(InstalledModel(model))
        }
    }

    /// Hashes an installed model again: `.progress`... then `.verified`.
    public func verify(id: String) -> AsyncThrowingStream<TransferEvent, Error> {
        let store = self.store
        return nativeWork { cancel, continuation in
            let v = try await store.verify(id: id, listener: TransferRelay(continuation), cancel: cancel)
            return .verified(id: v.id, sha256: v.sha256, expected: v.expected, ok: v.ok)
        }
    }

    public func remove(id: String) throws(ImpError) {
        try mapErrors { try store.remove(id: id) }
    }
}

/// Where an install from the hub is: `fraction` is 0...1 over the whole
/// install and never goes back.
public enum InstallEvent: Sendable {
    case progress(stage: InstallStage, done: UInt64, total: UInt64?, fraction: Double)
    case installed(InstalledModel)
}

public enum TransferEvent: Sendable {
    case progress(doneBytes: UInt64, totalBytes: UInt64?)
    case installed(InstalledModel)
    case verified(id: String, sha256: String, expected: String?, ok: Bool)
}

public struct CatalogModel: Sendable, Equatable {
    public let id: String
    public let displayName: String
    public let variant: String
    public let sourceRepo: String
    public let imageSize: Int
    public let memoryBytes: UInt64
    public let goodFor: String
    public let files: [PublishedFile]
    /// With no published file: how to get one, in words for the person.
    public let howToGet: String?
    /// What installing it from the hub downloads (nil: not known).
    public let downloadBytes: UInt64?

    /// For apps' test doubles and previews; the store's entries come from `ModelStore.catalog`.
    public init(id: String, displayName: String, variant: String, sourceRepo: String, imageSize: Int,
                memoryBytes: UInt64, goodFor: String, files: [PublishedFile], howToGet: String?,
                downloadBytes: UInt64? = nil) {
        (self.id, self.displayName, self.variant, self.sourceRepo) = (id, displayName, variant, sourceRepo)
        (self.imageSize, self.memoryBytes, self.goodFor) = (imageSize, memoryBytes, goodFor)
        (self.files, self.howToGet, self.downloadBytes) = (files, howToGet, downloadBytes)
    }

    init(_ e: CatalogEntry) {
        (id, displayName, variant, sourceRepo) = (e.id, e.displayName, e.variant, e.sourceRepo)
        (imageSize, memoryBytes, goodFor) = (Int(e.imageSize), e.memoryBytes, e.goodFor)
        (files, howToGet, downloadBytes) = (e.files, e.howToGet, e.downloadBytes)
    }
}

public struct InstalledModel: Sendable, Equatable {
    public let id: String
    /// What `ImpEngine.load` takes.
    public let path: String
    public let sizeBytes: UInt64
    public let sha256: String?
    /// Its checksum matched one the catalogue (or the app) vouched for.
    public let verified: Bool
    public let catalogId: String?
    public let origin: ModelOrigin
    public let installedAtMs: UInt64
    public let details: ModelDetails?
    /// Why it cannot be used (missing or damaged file), for the person.
    public let problem: String?

    /// For apps' test doubles and previews; the store's models come from `ModelStore.installed`.
    public init(id: String, path: String, sizeBytes: UInt64, sha256: String?, verified: Bool,
                catalogId: String?, origin: ModelOrigin, installedAtMs: UInt64, details: ModelDetails?,
                problem: String?) {
        (self.id, self.path, self.sizeBytes, self.sha256, self.verified) = (id, path, sizeBytes, sha256, verified)
        (self.catalogId, self.origin, self.installedAtMs) = (catalogId, origin, installedAtMs)
        (self.details, self.problem) = (details, problem)
    }

    init(_ m: ImpFFI.InstalledModel) {
        (id, path, sizeBytes, sha256, verified) = (m.id, m.path, m.sizeBytes, m.sha256, m.verified)
        (catalogId, origin, installedAtMs) = (m.catalogId, m.origin, m.installedAtMs)
        details = m.info.map(ModelDetails.init)
        problem = m.problem
    }
}

private final class TransferRelay: TransferListener {
    private let continuation: AsyncThrowingStream<TransferEvent, Error>.Continuation
    init(_ continuation: AsyncThrowingStream<TransferEvent, Error>.Continuation) {
        self.continuation = continuation
    }

    func onProgress(done: UInt64, total: UInt64?) {
        continuation.yield(.progress(doneBytes: done, totalBytes: total))
    }
}

private final class InstallRelay: InstallListener {
    private let continuation: AsyncThrowingStream<InstallEvent, Error>.Continuation
    init(_ continuation: AsyncThrowingStream<InstallEvent, Error>.Continuation) {
        self.continuation = continuation
    }

    func onProgress(progress: InstallProgress) {
        continuation.yield(.progress(stage: progress.stage, done: progress.done, total: progress.total,
                                     fraction: progress.fraction))
    }
}
