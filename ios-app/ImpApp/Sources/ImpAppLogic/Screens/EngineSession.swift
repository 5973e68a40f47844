import Foundation
import ImpKit
import Observation

/// The loaded model the conversations answer with: one at a time (a 2-4B model
/// takes most of a phone's memory), loaded with the settings' options, released
/// before the benchmark loads its own copy.
@MainActor
@Observable
public final class EngineSession {
    public enum State: Equatable {
        case noModel
        case loading(modelId: String, fraction: Float)
        case ready(modelId: String, details: ModelDetails)
        case failed(modelId: String, Problem)
    }

    public private(set) var state: State = .noModel

    @ObservationIgnored private let loader: any EngineLoading
    @ObservationIgnored private let device: any DeviceFacts
    @ObservationIgnored private var engine: (any AnsweringEngine)?
    @ObservationIgnored private var loading: Task<(any AnsweringEngine)?, Never>?
    @ObservationIgnored private var loaded: (model: InstalledModel, options: EngineOptions)?
    /// Bumped by each load or unload: a superseded load does not write its result.
    @ObservationIgnored private var epoch = 0

    public init(loader: any EngineLoading, device: any DeviceFacts) {
        self.loader = loader
        self.device = device
    }

    public var modelId: String? {
        switch state {
        case .noModel: nil
        case .loading(let id, _), .ready(let id, _), .failed(let id, _): id
        }
    }

    /// Loads `model` with `settings` unless it is loaded (or loading) that way.
    public func use(_ model: InstalledModel, settings: AppSettings) {
        if let problem = model.problem {
            unload()
            state = .failed(modelId: model.id, Problem(.modelUnusable(problem), while: .loadingModel))
            return
        }
        guard let file = LocalModelFile(path: model.path) else {
            unload()
            state = .failed(modelId: model.id, Problem(.notFound("No file for \(model.id)."), while: .loadingModel))
            return
        }
        let options = settings.engineOptions(nativeImageSize: model.details?.imageSize, device: device)
        if let loaded, loaded.model == model, loaded.options == options, !isFailed { return }
        unload()
        loaded = (model, options)
        state = .loading(modelId: model.id, fraction: 0)
        let myEpoch = epoch
        let loader = self.loader
        loading = Task { [weak self] in
            do {
                let engine = try await loader.load(file, options: options) { fraction in
                    Task { @MainActor in self?.progressed(fraction, epoch: myEpoch) }
                }
                self?.loadEnded(engine, epoch: myEpoch)
                return engine
            } catch {
                self?.loadFailed(error, epoch: myEpoch)
                return nil
            }
        }
    }

    /// The engine once loaded (waiting for a load under way, or the one that
    /// replaced it); throws the load's problem.
    public func readyEngine() async throws(Problem) -> any AnsweringEngine {
        while true {
            if let engine { return engine }
            guard let task = loading else { break }
            _ = await task.value
            if loading == task, engine == nil { break }  // the load waited for failed
        }
        if case .failed(_, let problem) = state { throw problem }
        throw Problem.noModel
    }

    /// Releases the model's memory (the conversations holding it keep it until
    /// they end).
    public func unload() {
        epoch += 1
        loading?.cancel()
        loading = nil
        engine = nil
        loaded = nil
        state = .noModel
    }

    private var isFailed: Bool {
        if case .failed = state { true } else { false }
    }

    private func progressed(_ fraction: Float, epoch: Int) {
        guard epoch == self.epoch, case .loading(let id, let old) = state, fraction > old else { return }
        state = .loading(modelId: id, fraction: fraction)
    }

    private func loadEnded(_ engine: any AnsweringEngine, epoch: Int) {
        guard epoch == self.epoch, let id = modelId else { return }
        self.engine = engine
        state = .ready(modelId: id, details: engine.details)
    }

    private func loadFailed(_ error: any Error, epoch: Int) {
        guard epoch == self.epoch, let id = modelId else { return }
        state = .failed(modelId: id, Problem(any: error, while: .loadingModel))
    }
}
