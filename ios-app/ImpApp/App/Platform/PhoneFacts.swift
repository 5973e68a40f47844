import Foundation
import ImpAppLogic
import ImpKit
import os

/// What this iPhone has: memory, storage, cores.
struct PhoneFacts: DeviceFacts {
    /// Where models are kept (their volume's free space counts).
    let modelsDirectory: URL

    func profile() -> DeviceProfile {
        let values = try? modelsDirectory.resourceValues(forKeys: [.volumeAvailableCapacityForImportantUsageKey])
        let free = values?.volumeAvailableCapacityForImportantUsage ?? 0
        // What this app may still allocate before iOS ends it: the number that
        // decides whether a model loads, far below the phone's RAM.
        let available = os_proc_available_memory()
        return DeviceProfile(totalRamBytes: ProcessInfo.processInfo.physicalMemory,
                             availableRamBytes: available > 0 ? UInt64(available) : nil,
                             freeStorageBytes: UInt64(max(0, free)))
    }

    /// The performance cores (A-series "P" cores): the efficiency cores would
    /// slow every matrix multiply to their pace.
    var performanceCores: Int? {
        var count: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard sysctlbyname("hw.perflevel0.physicalcpu", &count, &size, nil, 0) == 0, count > 0 else { return nil }
        return Int(count)
    }

    var allCores: Int { ProcessInfo.processInfo.activeProcessorCount }
}
