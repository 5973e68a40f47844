import Foundation
import ImpKit
import Observation

/// The benchmark screen: the paper's Table 4 protocol on the chosen model (the
/// same code and record as `imp bench`), with the model the app holds released
/// first, since two copies would not fit in a phone's memory.
@MainActor
@Observable
public final class BenchmarkViewModel: DescribesControls {
    public enum State: Equatable {
        /// No usable model chosen.
        case unavailable(Problem)
        case ready
        case running(step: String, fraction: Double?)
        case finished(BenchmarkReport)
        case failed(Problem)
    }

    public private(set) var state: State = .unavailable(.noModel)

    @ObservationIgnored private let runner: any BenchmarkRunning
    @ObservationIgnored private let announcements: Announcements
    @ObservationIgnored private var run: Task<Void, Never>?
    @ObservationIgnored private var model: (path: String, name: String)?
    /// Called before the run (release the app's engine) and after it (load it again).
    @ObservationIgnored public var onStart: @MainActor () -> Void = {}
    @ObservationIgnored public var onEnd: @MainActor () -> Void = {}

    public init(runner: any BenchmarkRunning, announcements: Announcements) {
        self.runner = runner
        self.announcements = announcements
    }

    /// The model to measure (nil: none chosen).
    public func setModel(path: String?, name: String) {
        model = path.map { ($0, name) }
        if case .running = state { return }
        state = model == nil ? .unavailable(.noModel) : .ready
    }

    public func start(options: BenchmarkOptions) {
        guard let model, run == nil else { return }
        onStart()
        state = .running(step: "Loading \(model.name)", fraction: 0)
        announcements.say("Benchmark started. It takes about a minute.")
        let stream = runner.run(.model(path: model.path), options: options)
        run = Task { [weak self] in
            do {
                for try await event in stream {
                    guard let self else { return }
                    switch event {
                    case .stage(let stage): self.state = Self.running(stage, name: model.name)
                    case .finished(let record):
                        let report = BenchmarkReport(record)
                        self.state = .finished(report)
                        self.announcements.say("Benchmark finished. \(report.spokenSummary)")
                    }
                }
                if let self, case .running = self.state { self.state = .ready }  // cancelled
            } catch {
                guard let self else { return }
                let problem = Problem(any: error, while: .benchmark)
                self.state = problem.kind == .cancelled ? .ready : .failed(problem)
                if problem.kind != .cancelled { self.announcements.say(problem.announcement, interrupting: true) }
            }
            self?.run = nil
            self?.onEnd()
        }
    }

    public func cancel() {
        run?.cancel()
    }

    public var controls: [Control] {
        switch state {
        case .running:
            [Control(.cancelBenchmark, label: "Cancel benchmark", hint: "Stops the measurement.")]
        case .unavailable:
            [Control(.runBenchmark, label: "Run benchmark", hint: "Choose a model first.", isEnabled: false)]
        case .ready, .finished, .failed:
            [Control(.runBenchmark, label: state == .ready ? "Run benchmark" : "Run again",
                     hint: "Measures picture encoding, prompt and generation speed, about a minute.")]
        }
    }

    static func running(_ stage: BenchmarkStage, name: String) -> State {
        switch stage {
        case .writing(let done, let total):
            .running(step: "Preparing", fraction: Double(done) / Double(max(total, 1)))
        case .loading(let fraction):
            .running(step: "Loading \(name)", fraction: Double(fraction))
        case .run(let index, let of):
            .running(step: "Run \(index + 1) of \(of)", fraction: Double(index) / Double(max(of, 1)))
        }
    }
}

/// A benchmark record as the screen shows it: Table 4's columns, the time to
/// the first word that a person feels, and the kernel path (as on Android).
public struct BenchmarkReport: Equatable, Sendable {
    public struct Line: Equatable, Sendable {
        public let name: String
        public let value: String
    }

    public let lines: [Line]
    public let spokenSummary: String
    public let json: String

    public init(_ r: BenchmarkRecord) {
        func seconds(_ s: Double) -> String { String(format: "%.2f s", s) }
        func rate(_ r: Double) -> String { String(format: "%.1f tokens/s", r) }
        var lines = [
            Line(name: "Model", value: "\(r.model) (\(r.weightsDtype))"),
            Line(name: "Picture size", value: "\(r.imageSize) px"),
            Line(name: "Threads", value: "\(r.threads)"),
        ]
        if !r.kernels.isEmpty { lines.append(Line(name: "Kernels", value: r.kernels)) }
        lines += [
            Line(name: "Load", value: seconds(r.loadS)),
            Line(name: "Picture encoding", value: seconds(r.visionS)),
            Line(name: "Prompt", value: rate(r.promptTokS)),
            Line(name: "Generation", value: rate(r.genTokS)),
            Line(name: "First word, picture given ahead", value: seconds(r.ttftAheadS)),
            Line(name: "First word, picture and question together", value: seconds(r.ttftColdS)),
            Line(name: "Total per question", value: seconds(r.totalS)),
            Line(name: "First run total", value: seconds(r.firstRunTotalS)),
        ]
        // iOS reports no peak memory to the core (0): leave the line out.
        if r.peakRssBytes > 0 { lines.append(Line(name: "Peak memory", value: ByteSize.text(r.peakRssBytes))) }
        self.lines = lines
        spokenSummary = String(
            format: "Picture encoding %.1f seconds, generation %.1f tokens per second, "
                + "first word %.1f seconds after asking.",
            r.visionS, r.genTokS, r.ttftAheadS)
        json = r.json
    }
}
