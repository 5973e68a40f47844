import Foundation
import ImpKit

// What the app keeps: models, past conversations, the benchmark. The real ones
// are ImpKit's `ModelStore`, `ConversationHistory` and `Benchmark` (see
// CoreAdapters.swift); the protocols repeat their shapes so tests can use fakes.

/// The models on this device and how to get more. The only part of the app
/// that uses the network (downloads).
public protocol ModelLibrary: Sendable {
    var catalog: [CatalogModel] { get }
    func installed() throws(ImpError) -> [InstalledModel]
    func pendingDownloads() throws(ImpError) -> [PendingDownload]
    func discardDownload(id: String) throws(ImpError)
    func deviceFit(_ device: DeviceProfile) throws(ImpError) -> [ModelFit]
    /// `.progress`... then `.installed`; ending the iteration pauses (the
    /// partial file is kept and downloading again resumes it).
    func download(_ source: DownloadSource) -> AsyncThrowingStream<TransferEvent, Error>
    /// A catalogue model made on this phone from its authors' checkpoint on the
    /// hub: `.progress` in stages... then `.installed`; ending the iteration
    /// pauses (the downloaded files are kept and installing again resumes).
    func installFromHub(catalogId: String) -> AsyncThrowingStream<InstallEvent, Error>
    /// "Add a model": what the person typed (a hub repository id or page, a
    /// `.gguf` link) and an optional SHA-256 as an address, or
    /// `.invalidAddress` saying in words what it is not.
    func modelAddress(_ text: String, sha256: String?) throws(ImpError) -> ModelAddress
    /// Installs the model at `address`: `.progress` in stages... then
    /// `.installed`; ending the iteration pauses (installing again resumes).
    func addModel(_ address: ModelAddress) -> AsyncThrowingStream<InstallEvent, Error>
    func importFile(path: String, inPlace: Bool, expectedSHA256: String?)
        -> AsyncThrowingStream<TransferEvent, Error>
    func verify(id: String) -> AsyncThrowingStream<TransferEvent, Error>
    func remove(id: String) throws(ImpError)
}

/// Past conversations, newest first.
public protocol ConversationArchive: Sendable {
    func create(modelId: String, picture: Picture) throws(ImpError) -> SavedConversation
    func append(_ turn: SavedTurn, to id: String) throws(ImpError) -> SavedConversation
    func list(offset: UInt32, limit: UInt32) throws(ImpError) -> HistoryPage
    func load(id: String) throws(ImpError) -> SavedConversation
    func thumbnail(id: String) throws(ImpError) -> Data
    func delete(id: String) throws(ImpError)
    func deleteAll() throws(ImpError)
}

/// The paper's Table 4 protocol on this phone.
public protocol BenchmarkRunning: Sendable {
    func run(_ target: BenchmarkTarget, options: BenchmarkOptions) -> AsyncThrowingStream<BenchmarkEvent, Error>
}

/// Whether the network the phone is on now may cost the person (cellular, a
/// hotspot, Low Data Mode): a model's gigabytes are asked about first.
public protocol NetworkCost: Sendable {
    var isExpensive: Bool { get }
}

/// What the phone knows about itself, for fit verdicts and engine options.
public protocol DeviceFacts: Sendable {
    /// Total and available memory, free storage where models are kept.
    func profile() -> DeviceProfile
    /// Performance ("big") cores, the default thread count; nil if unknown.
    var performanceCores: Int? { get }
    /// All cores, the most threads offered in settings.
    var allCores: Int { get }
}

/// Where the settings persist (UserDefaults on the phone).
public protocol SettingsStorage: Sendable {
    func load() -> AppSettings?
    func save(_ settings: AppSettings)
}
