package app.imp.kit

import java.io.File
import kotlin.test.assertEquals

/** Native threads the core and the facade start (all named `imp-*`). */
internal fun ourThreads(): List<String> =
    File("/proc/self/task").listFiles().orEmpty()
        .mapNotNull { runCatching { File(it, "comm").readText().trim() }.getOrNull() }
        .filter { it.startsWith("imp-") }

/**
 * After a test: no engine alive and none of our threads running (they end a
 * moment after the work they report, so this waits up to ten seconds).
 */
internal fun assertNothingLeftRunning() {
    val deadline = System.nanoTime() + 10_000_000_000
    while ((ImpEngine.liveEngineCount() != 0L || ourThreads().isNotEmpty()) && System.nanoTime() < deadline) {
        Thread.sleep(10)
    }
    assertEquals(0, ImpEngine.liveEngineCount(), "engines left alive")
    assertEquals(emptyList(), ourThreads(), "threads left running")
}
