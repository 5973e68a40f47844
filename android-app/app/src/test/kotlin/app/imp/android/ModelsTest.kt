package app.imp.android

import androidx.compose.runtime.getValue
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performScrollTo
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.imp.android.settings.AppSettings
import app.imp.android.ui.ImpTheme
import app.imp.android.ui.models.Check
import app.imp.android.ui.models.ModelImport
import app.imp.android.ui.models.ModelsActions
import app.imp.android.ui.models.ModelsScreen
import app.imp.android.ui.models.ModelsUiState
import app.imp.android.ui.models.ModelsViewModel
import app.imp.android.ui.models.Transfer
import app.imp.kit.FitVerdict
import app.imp.kit.ModelFit
import app.imp.kit.TransferEvent
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.flowOf
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** The models screen and its view model over a fake store. */
class ModelsTest : ScreenTest() {
    private fun world(): ConversationWorld {
        val world = ConversationWorld(texts, temp.newFolder(), library = FakeLibrary(mutableListOf()), settings = AppSettings())
        world.library.fits = listOf(ModelFit("imp-v1-3b", false, FitVerdict.TIGHT, 2_000_000_000, 1_800_000_000, "tight"))
        return world
    }


    private fun viewModel(world: ConversationWorld) = ModelsViewModel(
        world.library, world.settings, world.session, fakeDevice, texts,
        { _, progress -> progress(10, 10); temp.newFile("picked.gguf") },
    )

    private fun loaded(vm: ModelsViewModel): ModelsUiState.Loaded {
        settle("the models") { vm.uiState.value is ModelsUiState.Loaded }
        return vm.uiState.value as ModelsUiState.Loaded
    }

    @Test
    fun firstRunShowsTheCatalogueWithTheFitVerdictAndEveryControlIsLabelled() {
        val world = world()
        val vm = viewModel(world)
        assertTrue(loaded(vm).firstRun)
        compose.setContent {
            ImpTheme {
                val state by vm.uiState.collectAsStateWithLifecycle()
                ModelsScreen(state, ModelsActions(onImport = {}))
            }
        }
        compose.onNodeWithText(compose.activity.getString(R.string.models_first_run)).assertExists()
        compose.onNodeWithText(compose.activity.getString(R.string.fit_tight), substring = true).assertExists()
        compose.onNodeWithText(compose.activity.getString(R.string.models_import)).performScrollTo().assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("models-first-run")
    }

    @Test
    fun downloadPausesResumesAndChoosesTheModel() {
        val world = world()
        world.library.downloadFlow = flow {
            emit(TransferEvent.Progress(50, 100))
            awaitCancellation()
        }
        val vm = viewModel(world)
        loaded(vm)
        vm.download("imp-v1-3b")
        settle("the progress") { loaded(vm).catalog.single().transfer == Transfer.Downloading(50, 100) }
        vm.pause("imp-v1-3b")
        assertEquals(Transfer.Paused(50), loaded(vm).catalog.single().transfer)

        val model = installedModel()
        world.library.downloadFlow = flow {
            emit(TransferEvent.Progress(100, 100))
            world.library.models += model
            emit(TransferEvent.Installed(model))
        }
        vm.download("imp-v1-3b")
        settle("the model to be installed") { loaded(vm).installed.isNotEmpty() }
        assertEquals(Transfer.Installed, loaded(vm).catalog.single().transfer)
        assertEquals(model.id, world.settings.settings.value.modelId)
        assertTrue(loaded(vm).installed.single().isChosen)
    }

    @Test
    fun importVerifyAndDelete() {
        val world = world()
        val model = installedModel("picked")
        world.library.importFlow = flow {
            world.library.models += model
            emit(TransferEvent.Installed(model))
        }
        val vm = viewModel(world)
        loaded(vm)
        vm.import("content://picked", "picked.gguf")
        settle("the import") { loaded(vm).installed.isNotEmpty() && loaded(vm).importing == ModelImport.Idle }

        world.library.verifyFlow = flowOf(TransferEvent.Verified("picked", "00", "ab", ok = false))
        vm.verify("picked")
        settle("the check") { loaded(vm).installed.single().check is Check.Failed }

        compose.setContent {
            ImpTheme {
                val state by vm.uiState.collectAsStateWithLifecycle()
                ModelsScreen(state, ModelsActions(onConfirmDelete = vm::confirmDelete, onCancelDelete = vm::cancelDelete))
            }
        }
        vm.askDelete("picked")
        assertEquals("picked", loaded(vm).pendingDelete?.id)
        val title = loaded(vm).pendingDelete!!.title
        compose.onNodeWithText(compose.activity.getString(R.string.models_delete_title, title)).assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("models-delete")
        vm.confirmDelete()
        settle("the deletion") { loaded(vm).installed.isEmpty() }
        assertEquals(listOf("picked"), world.library.removed)
        assertEquals(null, world.settings.settings.value.modelId)
    }
}
