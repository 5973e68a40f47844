import Foundation

/// Messages for VoiceOver users, said only while VoiceOver runs (a sighted
/// person sees the same words on screen).
@MainActor
public final class Announcements {
    private let announcer: any Announcer
    private let accessibility: any AccessibilityStatus

    public init(announcer: any Announcer, accessibility: any AccessibilityStatus) {
        self.announcer = announcer
        self.accessibility = accessibility
    }

    public var isVoiceOverRunning: Bool { accessibility.isVoiceOverRunning }

    public func say(_ message: String, interrupting: Bool = false) {
        guard accessibility.isVoiceOverRunning else { return }
        announcer.announce(message, interrupting: interrupting)
    }
}

/// Sizes as people read and hear them (decimal units, as the Files app shows).
public enum ByteSize {
    public static func text(_ bytes: UInt64) -> String {
        format(bytes, units: ["bytes", "kB", "MB", "GB", "TB"])
    }

    /// For VoiceOver: "2.4 gigabytes" rather than "2.4 GB" spelled out.
    public static func spoken(_ bytes: UInt64) -> String {
        format(bytes, units: ["bytes", "kilobytes", "megabytes", "gigabytes", "terabytes"])
    }

    private static func format(_ bytes: UInt64, units: [String]) -> String {
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(bytes) \(units[0])" }
        let rounded = value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
        return "\(rounded) \(units[unit])"
    }

    /// "40 percent", or nil without a total.
    public static func percent(done: UInt64, of total: UInt64?) -> Int? {
        guard let total, total > 0 else { return nil }
        return Int(min(100, done * 100 / total))
    }
}

/// Joins parts into sentences for VoiceOver: each ends with one stop, so the
/// voice pauses between them without reading doubled punctuation.
public enum SpokenText {
    public static func sentences(_ parts: [String]) -> String {
        parts.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
            .map { part in part.last.map { ".?!…:".contains($0) } == true ? part : part + "." }
            .joined(separator: " ")
    }
}
