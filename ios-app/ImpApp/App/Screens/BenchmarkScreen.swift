import ImpAppLogic
import ImpKit
import SwiftUI

/// The paper's Table 4 on this phone: picture encoding, prompt and generation
/// speed of the chosen model.
struct BenchmarkScreen: View {
    let app: AppModel
    let benchmark: BenchmarkViewModel

    var body: some View {
        List {
            Section {
                Text("Measures the chosen model the way the Imp paper does: a picture, a 41-token prompt, "
                    + "then 64 tokens, three times. The model is released meanwhile.")
            }
            Section {
                switch benchmark.state {
                case .unavailable(let problem), .failed(let problem):
                    ProblemView(problem: problem, action: nil, perform: {})
                case .ready:
                    EmptyView()
                case .running(let step, let fraction):
                    if let fraction {
                        ProgressView(step, value: fraction)
                    } else {
                        ProgressView(step)
                    }
                case .finished(let report):
                    ForEach(report.lines, id: \.name) { line in
                        LabeledContent(line.name, value: line.value)
                    }
                }
            }
            Section {
                ForEach(benchmark.controls) { control in
                    ControlButton(control: control, systemImage: control.id == .cancelBenchmark ? "xmark" : "play") {
                        if control.id == .cancelBenchmark {
                            benchmark.cancel()
                        } else {
                            benchmark.start(options: app.benchmarkOptions)
                        }
                    }
                }
            }
        }
        .navigationTitle("Benchmark")
    }
}
