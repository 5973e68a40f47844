import Foundation
import ImpAppLogic
import ImpKit
import PictureInbox

/// The platform pieces the app's logic is given on the phone.
@MainActor
final class PhoneEnvironment {
    let camera = CameraController()
    let voiceOver = VoiceOverOutput()
    let environment: AppEnvironment

    init() {
        let support = URL.applicationSupportDirectory.appending(path: "Imp", directoryHint: .isDirectory)
        let models = support.appending(path: "Models", directoryHint: .isDirectory)
        let history = support.appending(path: "History", directoryHint: .isDirectory)
        for folder in [models, history] {
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        // Models are gigabytes that can be downloaded again: not in iCloud backups.
        var excluded = URLResourceValues()
        excluded.isExcludedFromBackup = true
        var modelsFolder = models
        try? modelsFolder.setResourceValues(excluded)

        let library: any ModelLibrary
        let archive: any ConversationArchive
        do {
            library = try ModelStore(directory: models.path(percentEncoded: false))
        } catch {
            library = UnavailableLibrary(error: error)
        }
        do {
            archive = try ConversationHistory(directory: history.path(percentEncoded: false))
        } catch {
            archive = UnavailableArchive(error: error)
        }
        environment = AppEnvironment(
            loader: CoreEngineLoader(), library: library, archive: archive, benchmark: CoreBenchmark(),
            device: PhoneFacts(modelsDirectory: models), network: PathNetworkCost(),
            settingsStorage: DefaultsSettingsStorage(),
            camera: camera, pictureDecoder: ImageIOPictureDecoder(), synthesizer: SynthesizerVoice(),
            voiceOverVoice: voiceOver, announcer: voiceOver, accessibility: voiceOver, haptics: FeedbackHaptics(),
            clipboard: SystemClipboard(), recognizer: SpeechRecognizerInput(), clock: SystemClock(),
            originals: OriginalPictures(directory: support.appending(path: "Pictures", directoryHint: .isDirectory)),
            inbox: PictureInbox.shared())
    }
}

/// The store could not be opened (a full or damaged disk): every call says why.
private struct UnavailableLibrary: ModelLibrary {
    let problem: ImpError

    init(error: any Error) {
        problem = (error as? ImpError) ?? .internalError("\(error)")
    }

    var catalog: [CatalogModel] { [] }
    func installed() throws(ImpError) -> [InstalledModel] { throw problem }
    func pendingDownloads() throws(ImpError) -> [PendingDownload] { throw problem }
    func discardDownload(id: String) throws(ImpError) { throw problem }
    func deviceFit(_ device: DeviceProfile) throws(ImpError) -> [ModelFit] { throw problem }
    func download(_ source: DownloadSource) -> AsyncThrowingStream<TransferEvent, Error> { failing() }
    func installFromHub(catalogId: String) -> AsyncThrowingStream<InstallEvent, Error> {
        AsyncThrowingStream { $0.finish(throwing: problem) }
    }
    func modelAddress(_ text: String, sha256: String?) throws(ImpError) -> ModelAddress { throw problem }
    func addModel(_ address: ModelAddress) -> AsyncThrowingStream<InstallEvent, Error> {
        AsyncThrowingStream { $0.finish(throwing: problem) }
    }
    func importFile(path: String, inPlace: Bool, expectedSHA256: String?) -> AsyncThrowingStream<TransferEvent, Error> {
        failing()
    }
    func verify(id: String) -> AsyncThrowingStream<TransferEvent, Error> { failing() }
    func remove(id: String) throws(ImpError) { throw problem }

    private func failing() -> AsyncThrowingStream<TransferEvent, Error> {
        AsyncThrowingStream { $0.finish(throwing: problem) }
    }
}

private struct UnavailableArchive: ConversationArchive {
    let problem: ImpError

    init(error: any Error) {
        problem = (error as? ImpError) ?? .internalError("\(error)")
    }

    func create(modelId: String, picture: Picture) throws(ImpError) -> SavedConversation { throw problem }
    func append(_ turn: SavedTurn, to id: String) throws(ImpError) -> SavedConversation { throw problem }
    func list(offset: UInt32, limit: UInt32) throws(ImpError) -> HistoryPage { throw problem }
    func load(id: String) throws(ImpError) -> SavedConversation { throw problem }
    func thumbnail(id: String) throws(ImpError) -> Data { throw problem }
    func delete(id: String) throws(ImpError) { throw problem }
    func deleteAll() throws(ImpError) { throw problem }
}
