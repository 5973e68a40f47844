import ImpAppLogic
import SwiftUI

extension View {
    /// The words VoiceOver says for a control, from its view model.
    func described(by control: Control) -> some View {
        modifier(ControlDescription(control: control))
    }
}

/// A value is set only when the view model gives one: an empty value would
/// hide the control's own (the text typed in a field, a slider's position).
private struct ControlDescription: ViewModifier {
    let control: Control

    @ViewBuilder
    func body(content: Content) -> some View {
        let described = content
            .accessibilityLabel(Text(control.label))
            .accessibilityHint(Text(control.hint))
            .disabled(!control.isEnabled)
        if let value = control.value {
            described.accessibilityValue(Text(value))
        } else {
            described
        }
    }
}

/// A button whose visible title and VoiceOver words come from its control.
struct ControlButton: View {
    let control: Control
    var systemImage: String?
    var role: ButtonRole?
    let action: () -> Void

    var body: some View {
        Button(role: role, action: action) {
            if let systemImage {
                Label(control.label, systemImage: systemImage)
            } else {
                Text(control.label)
            }
        }
        .described(by: control)
    }
}

/// Stacks side by side at ordinary text sizes, one above the other at the
/// accessibility sizes (where a row of buttons would be cut off).
struct AdaptiveStack<Content: View>: View {
    @Environment(\.dynamicTypeSize) private var size
    var spacing: CGFloat = 12
    @ViewBuilder let content: () -> Content

    var body: some View {
        let layout = size.isAccessibilitySize
            ? AnyLayout(VStackLayout(alignment: .leading, spacing: spacing))
            : AnyLayout(HStackLayout(spacing: spacing))
        layout { content() }
    }
}

/// A problem: what happened, what to do, and the one button that helps.
struct ProblemView: View {
    let problem: Problem
    let action: Control?
    let perform: () -> Void

    var body: some View {
        VStack(alignment: .leading, spacing: 8) {
            VStack(alignment: .leading, spacing: 4) {
                Text(problem.title).font(.headline)
                Text(problem.message).font(.body)
            }
            .accessibilityElement(children: .combine)
            if let details = problem.details {
                // The core's own words, for a bug report: behind a disclosure so
                // that VoiceOver reads only its title until it is opened.
                DisclosureGroup("Technical details") {
                    Text(details).font(.footnote).textSelection(.enabled)
                }
                .font(.footnote)
            }
            if let action {
                ControlButton(control: action, action: perform)
                    .buttonStyle(.borderedProminent)
            }
        }
        .padding()
        .frame(maxWidth: .infinity, alignment: .leading)
        .background(.red.opacity(0.12), in: RoundedRectangle(cornerRadius: 12))
    }
}
