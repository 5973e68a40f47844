package app.imp.kit

import app.imp.ffi.BenchmarkListener
import app.imp.ffi.runBenchmark
import kotlinx.coroutines.flow.Flow
import app.imp.ffi.BenchmarkOptions as FfiBenchmarkOptions
import app.imp.ffi.BenchmarkRecord as FfiBenchmarkRecord
import app.imp.ffi.BenchmarkStage as FfiBenchmarkStage
import app.imp.ffi.BenchmarkTarget as FfiBenchmarkTarget

/**
 * The paper's Table 4 protocol on this phone, the same code and record as
 * `imp bench` on a computer: [BenchmarkEvent.Stage]s, then [BenchmarkEvent.Finished].
 */
object Benchmark {
    fun run(target: BenchmarkTarget, options: BenchmarkOptions = BenchmarkOptions()): Flow<BenchmarkEvent> =
        nativeWork { cancel ->
            val listener = object : BenchmarkListener {
                override fun onStage(stage: FfiBenchmarkStage) {
                    trySend(BenchmarkEvent.Stage(stage.describe()))
                }
            }
            BenchmarkEvent.Finished(BenchmarkRecord.from(runBenchmark(target.toFfi(), options.toFfi(), listener, cancel)))
        }

    private fun FfiBenchmarkStage.describe(): BenchmarkStage = when (this) {
        is FfiBenchmarkStage.Writing -> BenchmarkStage.Writing(done.toInt(), total.toInt())
        is FfiBenchmarkStage.Loading -> BenchmarkStage.Loading(fraction)
        is FfiBenchmarkStage.Run -> BenchmarkStage.Run(index.toInt(), of.toInt())
    }
}

sealed interface BenchmarkTarget {
    /** An installed model. */
    data class Model(val path: String) : BenchmarkTarget

    /** Random q4_k weights of a published shape (imp-3b-196, imp-3b-384, imp-2b, imp-4b). */
    data class Synthetic(val preset: String, val scratchDir: String) : BenchmarkTarget

    fun toFfi(): FfiBenchmarkTarget = when (this) {
        is Model -> FfiBenchmarkTarget.Model(path)
        is Synthetic -> FfiBenchmarkTarget.Synthetic(preset, scratchDir)
    }
}

data class BenchmarkOptions(
    val imageSize: Int? = null,
    val promptTokens: Int = 41,
    val genTokens: Int = 64,
    val threads: Int? = null,
    val repeat: Int = 3,
    /** Tokens of the question whose time to first answer token is measured. */
    val questionTokens: Int = 10,
) {
    internal fun toFfi() = FfiBenchmarkOptions(
        imageSize?.toUInt(),
        promptTokens.toUInt(),
        genTokens.toUInt(),
        threads?.toUInt(),
        repeat.toUInt(),
        questionTokens.toUInt(),
    )
}

sealed interface BenchmarkStage {
    data class Writing(val done: Int, val total: Int) : BenchmarkStage
    data class Loading(val fraction: Float) : BenchmarkStage
    data class Run(val index: Int, val of: Int) : BenchmarkStage
}

sealed interface BenchmarkEvent {
    data class Stage(val stage: BenchmarkStage) : BenchmarkEvent
    data class Finished(val record: BenchmarkRecord) : BenchmarkEvent
}

data class BenchmarkRecord(
    val model: String,
    val weightsDtype: String,
    val imageSize: Int,
    val promptTokens: Int,
    val genTokens: Int,
    val threads: Int,
    val loadS: Double,
    val runs: Int,
    /** Medians over the runs after the first. */
    val visionS: Double,
    val promptTokS: Double,
    val genTokS: Double,
    val totalS: Double,
    val firstRunTotalS: Double,
    val peakRssBytes: Long,
    val peakAnonRssBytes: Long,
    /** The record as `imp bench --format json` prints it. */
    val json: String,
    /** Time to the first answer token of a [questionTokens] question (medians). */
    val questionTokens: Int,
    val ttftColdS: Double,
    /** The same with the picture handed over ahead, as the apps do at capture. */
    val ttftAheadS: Double,
    /** The kernel path the products ran: avx2, neoni8mm... */
    val kernels: String,
) {
    internal companion object {
        fun from(r: FfiBenchmarkRecord) = BenchmarkRecord(
            model = r.model,
            weightsDtype = r.weightsDtype,
            imageSize = r.imageSize.toInt(),
            promptTokens = r.promptTokens.toInt(),
            genTokens = r.genTokens.toInt(),
            threads = r.threads.toInt(),
            loadS = r.loadS,
            runs = r.runs.size,
            visionS = r.visionS,
            promptTokS = r.promptTokS,
            genTokS = r.genTokS,
            totalS = r.totalS,
            firstRunTotalS = r.firstRunTotalS,
            peakRssBytes = r.peakRssBytes.toLong(),
            peakAnonRssBytes = r.peakAnonRssBytes.toLong(),
            json = r.json,
            questionTokens = r.questionTokens.toInt(),
            ttftColdS = r.ttftColdS,
            ttftAheadS = r.ttftAheadS,
            kernels = r.kernels,
        )
    }
}
