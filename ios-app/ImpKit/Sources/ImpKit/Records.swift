import ImpFFI

// Plain records and enums of the core, named through ImpKit so that apps never
// import the generated bindings. (Objects and errors are wrapped instead:
// they carry behaviour.)

public typealias DeviceProfile = ImpFFI.DeviceProfile
public typealias ModelFit = ImpFFI.ModelFit
public typealias FitVerdict = ImpFFI.FitVerdict
public typealias PublishedFile = ImpFFI.PublishedFile
public typealias ModelOrigin = ImpFFI.ModelOrigin
public typealias InstallStage = ImpFFI.InstallStage
public typealias DownloadSource = ImpFFI.DownloadSource
public typealias ModelAddress = ImpFFI.ModelAddress
public typealias PendingDownload = ImpFFI.PendingDownload
public typealias SavedConversation = ImpFFI.SavedConversation
public typealias SavedTurn = ImpFFI.SavedTurn
public typealias TurnTimings = ImpFFI.TurnTimings
public typealias HistoryPage = ImpFFI.HistoryPage
public typealias ConversationSummary = ImpFFI.ConversationSummary
public typealias BenchmarkTarget = ImpFFI.BenchmarkTarget
public typealias BenchmarkOptions = ImpFFI.BenchmarkOptions
public typealias BenchmarkRecord = ImpFFI.BenchmarkRecord
public typealias BenchmarkRun = ImpFFI.BenchmarkRun
public typealias BenchmarkStage = ImpFFI.BenchmarkStage
