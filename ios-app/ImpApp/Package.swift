// swift-tools-version: 6.0
// The iOS app's logic: screen state machines, the speech queue, what VoiceOver
// hears and when, and the adapters over ImpKit. It imports only Foundation,
// Observation and ImpKit, so `swift test` runs it on Linux (tests/ios.sh); the
// SwiftUI app and share extension (App/, ShareExtension/, built by project.yml
// on a Mac) put the platform behind the protocols declared here.
import PackageDescription

let package = Package(
    name: "ImpApp",
    // iOS 17: the view models are @Observable (the Observation runtime ships with
    // iOS 17). Every phone with the 6 GB of memory an Imp model needs runs iOS 17.
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [
        .library(name: "ImpAppLogic", targets: ["ImpAppLogic"]),
        // Test doubles, also used by the SwiftUI previews.
        .library(name: "ImpAppFakes", targets: ["ImpAppFakes"]),
        // What the share extension links: Foundation only, no core (an extension
        // has about 120 MB of memory, and never runs the model).
        .library(name: "PictureInbox", targets: ["PictureInbox"]),
    ],
    dependencies: [.package(path: "../ImpKit")],
    targets: [
        .target(name: "PictureInbox", path: "Sources/PictureInbox"),
        .target(
            name: "ImpAppLogic",
            dependencies: [.product(name: "ImpKit", package: "ImpKit"), "PictureInbox"],
            path: "Sources/ImpAppLogic"),
        .target(name: "ImpAppFakes", dependencies: ["ImpAppLogic"], path: "Sources/ImpAppFakes"),
        .testTarget(
            name: "ImpAppLogicTests", dependencies: ["ImpAppLogic", "ImpAppFakes"],
            path: "Tests/ImpAppLogicTests"),
    ],
    swiftLanguageModes: [.v6]
)
