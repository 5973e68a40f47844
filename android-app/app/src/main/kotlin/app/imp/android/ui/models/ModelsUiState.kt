package app.imp.android.ui.models

import app.imp.android.engine.Problem
import app.imp.android.speech.Announcement
import app.imp.kit.CatalogModel
import app.imp.kit.InstallStage
import app.imp.kit.InstalledModel
import app.imp.kit.ModelFit

/** A catalogue model's download. */
sealed interface Transfer {
    /** Nothing downloaded; Download offered. */
    data object Available : Transfer

    data class Downloading(val done: Long, val total: Long?) : Transfer

    /** Made on this phone from the hub's checkpoint: [fraction] of the whole, in [stage]. */
    data class Preparing(val stage: InstallStage, val fraction: Double) : Transfer

    /** Stopped part way (paused, or the app was closed); Resume goes on from [done]. */
    data class Paused(val done: Long) : Transfer

    data class Failed(val problem: Problem) : Transfer

    data object Installed : Transfer
}

data class CatalogRow(val model: CatalogModel, val fit: ModelFit?, val transfer: Transfer) {
    val id: String get() = model.id
}

/** A check of an installed model's file. */
sealed interface Check {
    data object None : Check

    data class Verifying(val fraction: Float?) : Check

    data class Passed(val vouched: Boolean) : Check

    data class Failed(val problem: Problem) : Check
}

data class InstalledRow(val model: InstalledModel, val title: String, val isChosen: Boolean, val check: Check) {
    val id: String get() = model.id
}

/** A model the person added by address, while it installs or if it failed; [key] names it. */
data class AddedRow(val key: String, val transfer: Transfer)

/** "Add a model": what the person typed, and why it names no model (from the core), if it does not. */
data class AddModelForm(val text: String = "", val sha256: String = "", val error: String? = null)

/** A download that would use mobile data: of [name], [bytes] if known. */
data class MobileDataQuestion(val name: String, val bytes: Long?)

/** Copying a picked `.gguf` into the app, then checking it. */
sealed interface ModelImport {
    data object Idle : ModelImport

    data class Copying(val name: String, val done: Long, val total: Long?) : ModelImport

    data class Checking(val name: String, val done: Long, val total: Long?) : ModelImport

    data class Failed(val problem: Problem) : ModelImport
}

/** The models screen, also the first-run screen. */
sealed interface ModelsUiState {
    val announcement: Announcement?

    data class Loading(override val announcement: Announcement?) : ModelsUiState

    data class Loaded(
        val catalog: List<CatalogRow>,
        val installed: List<InstalledRow>,
        val importing: ModelImport,
        /** Why the person was sent here: the chosen model is missing or damaged. */
        val notice: Problem?,
        /** An installed model waiting for the person to confirm its deletion. */
        val pendingDelete: InstalledRow?,
        /** A download that would use mobile data, waiting for the person to allow it. */
        val askingMobileData: MobileDataQuestion? = null,
        /** Models added by address that are installing, stopped or failed. */
        val added: List<AddedRow> = emptyList(),
        /** The "Add a model" form, while open. */
        val addForm: AddModelForm? = null,
        /** The name of a model that became ready on this visit: the way on is to take a picture. */
        val ready: String? = null,
        override val announcement: Announcement?,
    ) : ModelsUiState {
        /** No model installed yet: the screen welcomes and explains. */
        val firstRun: Boolean get() = installed.isEmpty()
    }

    data class Failed(val problem: Problem, override val announcement: Announcement?) : ModelsUiState
}
