import ImpAppLogic
import SwiftUI
#if DEBUG
import ImpAppFakes  // previews
#endif

/// Model, resolution, answer length, threads, speech, vibration, benchmark.
struct SettingsScreen: View {
    let app: AppModel
    let settings: SettingsViewModel

    var body: some View {
        Form {
            Section {
                Picker(selection: binding({ $0.modelId }, settings.chooseModel)) {
                    Text("None").tag(String?.none)
                    ForEach(settings.models, id: \.id) { model in
                        Text(model.title).tag(Optional(model.id))
                    }
                } label: {
                    Text(settings.control(.chooseModel).label)
                }
                .described(by: settings.control(.chooseModel))
            }
            Section {
                Picker(selection: binding({ $0.resolution }, settings.setResolution)) {
                    ForEach(ResolutionMode.allCases, id: \.self) { Text($0.title).tag($0) }
                } label: {
                    Text(settings.control(.resolution).label)
                }
                .pickerStyle(.inline)
                .described(by: settings.control(.resolution))
            } footer: {
                if let note = settings.resolutionNote { Text(note) }
            }
            Section {
                Picker(selection: binding({ $0.answerLength }, settings.setAnswerLength)) {
                    ForEach(AnswerLength.allCases, id: \.self) { Text($0.title).tag($0) }
                } label: {
                    Text(settings.control(.answerLength).label)
                }
                .described(by: settings.control(.answerLength))
                Picker(selection: binding({ $0.threads }, settings.setThreads)) {
                    ForEach(settings.threadChoices, id: \.self) { Text(settings.threadTitle($0)).tag($0) }
                } label: {
                    Text(settings.control(.threads).label)
                }
                .described(by: settings.control(.threads))
            }
            Section("Speech") {
                Picker(selection: binding({ $0.speech }, settings.setSpeech)) {
                    ForEach(SpeechMode.allCases, id: \.self) { Text($0.title).tag($0) }
                } label: {
                    Text(settings.control(.speechMode).label)
                }
                .described(by: settings.control(.speechMode))
                VStack(alignment: .leading) {
                    Text(settings.control(.speechRate).label)
                    Slider(value: binding({ $0.speechRate }, settings.setSpeechRate), in: 0...1, step: 0.05)
                        .described(by: settings.control(.speechRate))
                }
                Toggle(settings.control(.haptics).label, isOn: binding({ $0.haptics }, settings.setHaptics))
                    .accessibilityHint(Text(settings.control(.haptics).hint))
                Toggle(settings.control(.wifiOnly).label, isOn: binding({ $0.wifiOnly }, settings.setWifiOnly))
                    .accessibilityHint(Text(settings.control(.wifiOnly).hint))
            }
            Section {
                ControlButton(control: settings.control(.openBenchmark), systemImage: "speedometer") {
                    app.openBenchmark()
                }
            }
        }
        .navigationTitle("Settings")
    }

    /// A binding that reads the settings and writes through the view model.
    /// Main-actor closures, not a key path and a plain closure: the SDK's
    /// Binding takes Sendable closures in Swift 6 mode.
    private func binding<Value>(_ read: @escaping @MainActor (AppSettings) -> Value,
                                _ write: @escaping @MainActor (Value) -> Void) -> Binding<Value> {
        Binding(get: { read(settings.settings) }, set: { write($0) })
    }
}

#if DEBUG
#Preview("Settings") {
    let app = PreviewApp.make()
    return NavigationStack { SettingsScreen(app: app, settings: app.settings) }
}
#endif
