import Foundation
import ImpKit

// The real engine, store, history and benchmark: ImpKit over the Rust core.
// They live in the logic target (ImpKit builds on Linux), so the end-to-end
// tests run them on the fixture models.

/// Loads models with the core. The core reads local files only: asking never
/// opens a connection (docs/design.md, "Hub access is the store's business, once").
public struct CoreEngineLoader: EngineLoading {
    public init() {}

    public func load(_ model: LocalModelFile, options: EngineOptions,
                     progress: @escaping @Sendable (Float) -> Void) async throws(ImpError) -> any AnsweringEngine
    {
        CoreEngine(try await ImpEngine.load(path: model.path, options: options, progress: progress))
    }
}

struct CoreEngine: AnsweringEngine {
    let engine: ImpEngine
    init(_ engine: ImpEngine) { self.engine = engine }

    var details: ModelDetails { engine.details }

    func startConversation(_ picture: Picture) async throws(ImpError) -> any PictureConversation {
        CoreConversation(conversation: try await engine.startConversation(picture))
    }
}

struct CoreConversation: PictureConversation {
    let conversation: Conversation

    func ask(_ question: String, settings: AnswerSettings) -> AsyncThrowingStream<AnswerEvent, Error> {
        conversation.ask(question, settings: settings)
    }
}

extension ModelStore: ModelLibrary {}

extension ConversationHistory: ConversationArchive {}

public struct CoreBenchmark: BenchmarkRunning {
    public init() {}

    public func run(_ target: BenchmarkTarget, options: BenchmarkOptions)
        -> AsyncThrowingStream<BenchmarkEvent, Error>
    {
        Benchmark.run(target, options: options)
    }
}

/// Settings in UserDefaults, as one JSON value (one key to migrate, not seven).
public struct DefaultsSettingsStorage: SettingsStorage, @unchecked Sendable {
    // UserDefaults is thread-safe (Apple documents it so); it is not marked Sendable.
    private let defaults: UserDefaults
    private let key = "imp.settings"

    public init(defaults: UserDefaults = .standard) { self.defaults = defaults }

    public func load() -> AppSettings? {
        defaults.data(forKey: key).flatMap { try? JSONDecoder().decode(AppSettings.self, from: $0) }
    }

    public func save(_ settings: AppSettings) {
        if let data = try? JSONEncoder().encode(settings) { defaults.set(data, forKey: key) }
    }
}
