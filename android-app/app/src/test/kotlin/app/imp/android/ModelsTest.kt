package app.imp.android

import androidx.compose.runtime.getValue
import androidx.compose.ui.test.assertCountEquals
import androidx.compose.ui.test.onAllNodesWithText
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.imp.android.settings.AppSettings
import app.imp.android.ui.ImpTheme
import app.imp.android.ui.models.AddedRow
import app.imp.android.ui.models.Check
import app.imp.android.ui.models.MobileDataQuestion
import app.imp.android.ui.models.ModelImport
import app.imp.android.ui.models.ModelsActions
import app.imp.android.ui.models.ModelsScreen
import app.imp.android.ui.models.ModelsUiState
import app.imp.android.ui.models.ModelsViewModel
import app.imp.android.ui.models.Transfer
import app.imp.kit.CatalogModel
import app.imp.kit.FitVerdict
import app.imp.kit.InstallEvent
import app.imp.kit.InstallStage
import app.imp.kit.ModelAddress
import app.imp.kit.ModelFit
import app.imp.kit.TransferEvent
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.flowOf
import kotlinx.coroutines.launch
import kotlinx.coroutines.yield
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.robolectric.annotation.Config

/** The models screen and its view model over a fake store. */
open class ModelsTest : ScreenTest() {
    /** A first run on the catalogue the app ships, or on [catalog]. */
    private fun world(catalog: List<CatalogModel> = shippedCatalog()): ConversationWorld {
        val library = FakeLibrary(mutableListOf(), catalog)
        val world = ConversationWorld(texts, temp.newFolder(), library = library, settings = AppSettings())
        world.library.fits = catalog.map { ModelFit(it.id, false, FitVerdict.TIGHT, it.memoryBytes, 1_800_000_000, "tight") }
        return world
    }


    private fun viewModel(world: ConversationWorld) = ModelsViewModel(
        world.library, world.settings, world.session, world.installs, fakeDevice, world.network, texts,
        { _, progress -> progress(10, 10); temp.newFile("picked.gguf") },
    )

    private fun show(vm: ModelsViewModel, actions: ModelsActions = ModelsActions()) {
        compose.setContent {
            ImpTheme {
                val state by vm.uiState.collectAsStateWithLifecycle()
                ModelsScreen(state, actions)
            }
        }
    }

    private fun loaded(vm: ModelsViewModel): ModelsUiState.Loaded {
        settle("the models") { vm.uiState.value is ModelsUiState.Loaded }
        return vm.uiState.value as ModelsUiState.Loaded
    }

    @Test
    fun firstRunShowsTheCatalogueWithTheFitVerdictAndEveryControlIsLabelled() {
        val world = world()
        val vm = viewModel(world)
        assertTrue(loaded(vm).firstRun)
        show(vm, ModelsActions(onImport = {}))
        compose.onNodeWithText(compose.activity.getString(R.string.models_first_run)).assertExists()
        // Every shipped model, each with its verdict.
        compose.onAllNodesWithText(compose.activity.getString(R.string.fit_tight), substring = true)
            .assertCountEquals(world.library.catalog.size)
        compose.onNodeWithText(compose.activity.getString(R.string.models_import)).performScrollTo().assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("models-first-run")
    }

    @Test
    fun downloadPausesResumesAndChoosesTheModel() {
        val world = world(listOf(PUBLISHED_ENTRY))
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

        val model = installedModel().copy(catalogId = PUBLISHED_ENTRY.id)
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

    /**
     * A shipped entry has no published file: Download makes it from the hub.
     * TalkBack hears each stage and every tenth of the whole, never each
     * progress event, then "ready"; the model becomes the one that answers.
     */
    @Test
    fun aShippedModelIsMadeFromTheHubWithSpokenProgress() {
        val world = world()
        val entry = world.library.catalog.first()
        val model = installedModel(entry.id).copy(catalogId = entry.id)
        val heard = mutableListOf<String>()
        world.library.installFlow = flow {
            // A yield after each event, as a native progress callback gives:
            // the screen's collectors see every announcement.
            for (i in 0..40) {
                emit(InstallEvent.Progress(InstallStage.DOWNLOADING, i.toLong(), 40, 0.75 * i / 40))
                yield()
            }
            for (i in 0..10) {
                emit(InstallEvent.Progress(InstallStage.CONVERTING, i.toLong(), 10, 0.75 + 0.22 * i / 10))
                yield()
            }
            emit(InstallEvent.Progress(InstallStage.VERIFYING, 1, 1, 1.0))
            world.library.models += model
            emit(InstallEvent.Installed(model))
        }
        val vm = viewModel(world)
        loaded(vm)
        val listening = kotlinx.coroutines.MainScope().launch {
            vm.uiState.collect { state -> state.announcement?.text?.let { if (heard.lastOrNull() != it) heard += it } }
        }
        vm.download(entry.id)
        settle("the model to be installed") { loaded(vm).installed.isNotEmpty() }
        listening.cancel()
        assertTrue(world.library.networkUsed)
        // The install kept the app alive while it ran, then let it go.
        assertEquals(listOf(true, false), world.keptAlive)
        assertEquals(Transfer.Installed, loaded(vm).catalog.first().transfer)
        assertEquals(model.id, world.settings.settings.value.modelId)
        val name = entry.displayName
        assertEquals(compose.activity.getString(R.string.models_ready, name), heard.last())
        val prefix = { id: Int -> compose.activity.getString(id, name, 0).substringBefore(":") }
        // 0, 10, ... 70 percent while downloading (the first three quarters),
        // then the conversion's tenths: 41 download events became 8 words.
        assertEquals("$heard", 8, heard.count { it.startsWith(prefix(R.string.models_stage_downloading)) })
        assertEquals("$heard", 3, heard.count { it.startsWith(prefix(R.string.models_stage_converting)) })
    }

    @Test
    fun preparingShowsTheStageAndItsShareOfTheWhole() {
        val world = world()
        val entry = world.library.catalog.first()
        world.library.installFlow = flow {
            emit(InstallEvent.Progress(InstallStage.CONVERTING, 300, 900, 0.86))
            awaitCancellation()
        }
        val vm = viewModel(world)
        loaded(vm)
        show(vm, ModelsActions(onImport = {}))
        vm.download(entry.id)
        settle("the conversion's progress") {
            loaded(vm).catalog.first().transfer == Transfer.Preparing(InstallStage.CONVERTING, 0.86)
        }
        val words = compose.activity.getString(R.string.models_stage_converting, entry.displayName, 86)
        compose.onNodeWithText(words).performScrollTo().assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("models-preparing")
        vm.pause(entry.id)
        assertEquals(Transfer.Paused(0), loaded(vm).catalog.first().transfer)
    }

    /**
     * Off Wi-Fi, with the default setting, Download asks first (the dialog is
     * labelled and sized for TalkBack); waiting starts nothing; allowing starts
     * that one install; with the setting off nothing is asked.
     */
    @Test
    fun offWifiADownloadAsksBeforeUsingMobileData() {
        val world = world()
        world.network.unmetered = false
        world.library.installFlow = flow { awaitCancellation() }
        val entry = world.library.catalog.first()
        val vm = viewModel(world)
        loaded(vm)
        show(vm, ModelsActions(onAllowMobileData = vm::allowMobileData, onWaitForWifi = vm::waitForWifi))
        vm.download(entry.id)
        assertEquals(entry.displayName, loaded(vm).askingMobileData?.name)
        assertTrue(!world.library.networkUsed)
        compose.onNodeWithText(compose.activity.getString(R.string.models_mobile_data_title)).assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("models-mobile-data")
        vm.waitForWifi()
        assertEquals(null, loaded(vm).askingMobileData)
        assertTrue(!world.library.networkUsed)

        vm.download(entry.id)
        vm.allowMobileData()
        settle("the install to start") { loaded(vm).catalog.first().transfer is Transfer.Preparing }
        assertTrue(world.library.networkUsed)
        vm.pause(entry.id)

        world.settings.update { it.copy(wifiOnly = false) }
        vm.download(entry.id)
        assertEquals(null, loaded(vm).askingMobileData)
        vm.pause(entry.id)
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

        show(vm, ModelsActions(onConfirmDelete = vm::confirmDelete, onCancelDelete = vm::cancelDelete))
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

    /**
     * "Add a model": words that name no model keep the dialog open and say why
     * (on screen, to TalkBack); a repository installs as its own row with its
     * progress, then joins the models on the phone and is announced ready.
     */
    @Test
    fun aModelIsAddedByRepositoryAndNonsenseIsExplained() {
        val world = world()
        val model = installedModel("imp-custom-q4_k").copy(catalogId = null)
        var step = kotlinx.coroutines.CompletableDeferred<Unit>()
        world.library.installFlow = flow {
            emit(InstallEvent.Progress(InstallStage.CONVERTING, 3, 10, 0.8))
            step.await()
            world.library.models += model
            emit(InstallEvent.Installed(model))
        }
        val vm = viewModel(world)
        loaded(vm)
        show(
            vm,
            ModelsActions(
                onAddModel = vm::openAddModel, onEditAdd = vm::editAddModel, onConfirmAdd = vm::confirmAddModel,
                onCancelAdd = vm::cancelAddModel, onPause = vm::pause,
            ),
        )
        vm.openAddModel()
        vm.editAddModel("a cat", "")
        vm.confirmAddModel()
        val why = loaded(vm).addForm?.error
        assertTrue("$why", why!!.contains("neither"))
        assertEquals(why, loaded(vm).announcement?.text)
        assertTrue(!world.library.networkUsed)
        compose.onNodeWithText(why).performScrollTo().assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("models-add-explains")

        vm.editAddModel("someone/imp-custom", "")
        assertEquals(null, loaded(vm).addForm?.error)
        vm.confirmAddModel()
        assertEquals(null, loaded(vm).addForm)
        assertEquals(listOf(ModelAddress.HubRepo("someone/imp-custom")), world.library.added)
        settle("the added model's progress") {
            loaded(vm).added == listOf(AddedRow("someone/imp-custom", Transfer.Preparing(InstallStage.CONVERTING, 0.8)))
        }
        val words = compose.activity.getString(R.string.models_stage_converting, "someone/imp-custom", 80)
        compose.onNodeWithText(words).performScrollTo().assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("models-adding")

        step.complete(Unit)
        settle("the added model to be installed") { loaded(vm).installed.isNotEmpty() }
        assertEquals(emptyList<AddedRow>(), loaded(vm).added)
        assertEquals(model.id, world.settings.settings.value.modelId)
        assertEquals(compose.activity.getString(R.string.models_ready, "someone/imp-custom"), loaded(vm).announcement?.text)
        // The way on, first on the screen: take a picture with the new model.
        assertEquals("imp-custom-q4_k", loaded(vm).ready)
        compose.onNodeWithText(compose.activity.getString(R.string.models_take_picture)).assertExists()
        compose.onNodeWithText(compose.activity.getString(R.string.models_in_use), substring = true).assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("models-ready")
    }

    /** A catalogue model's repository, typed in, goes through its card (one install, one place to watch it). */
    @Test
    fun aCatalogueRepositoryTypedInIsThatCatalogueModel() {
        val world = world()
        val entry = world.library.catalog.first()
        world.library.installFlow = flow { awaitCancellation() }
        val vm = viewModel(world)
        loaded(vm)
        vm.openAddModel()
        vm.editAddModel(" ${entry.sourceRepo} ", "")
        vm.confirmAddModel()
        settle("the card's install") { loaded(vm).catalog.first().transfer is Transfer.Preparing }
        assertEquals(emptyList<ModelAddress>(), world.library.added)
        assertEquals(emptyList<AddedRow>(), loaded(vm).added)
        vm.pause(entry.id)
    }

    /**
     * A .gguf link, off Wi-Fi: asked first (no size is known), then it fails;
     * its row says why and offers Try again, which starts it again, and Remove.
     */
    @Test
    fun anAddedLinkAsksForMobileDataAndAFailureCanBeRetriedOrRemoved() {
        val world = world()
        world.network.unmetered = false
        world.library.installFlow = flow { throw app.imp.kit.ImpException.NetworkFailed("The download couldn't get through.") }
        val vm = viewModel(world)
        loaded(vm)
        vm.openAddModel()
        vm.editAddModel("https://example.org/files/imp-tiny.gguf?download=true", "ab".repeat(32))
        vm.confirmAddModel()
        assertEquals(MobileDataQuestion("imp-tiny.gguf", null), loaded(vm).askingMobileData)
        assertTrue(!world.library.networkUsed)
        vm.allowMobileData()
        settle("the failure") { loaded(vm).added.singleOrNull()?.transfer is Transfer.Failed }
        assertEquals(
            ModelAddress.GgufUrl("https://example.org/files/imp-tiny.gguf?download=true", "ab".repeat(32)),
            world.library.added.single(),
        )
        assertTrue(loaded(vm).announcement!!.text.contains("couldn't get through"))

        world.network.unmetered = true
        vm.retryAdded("imp-tiny.gguf")
        settle("the second try") { world.library.added.size == 2 }
        settle("its failure") { loaded(vm).added.singleOrNull()?.transfer is Transfer.Failed }
        vm.dismissAdded("imp-tiny.gguf")
        assertEquals(emptyList<AddedRow>(), loaded(vm).added)
    }

    /**
     * At twice the font size every control keeps its words and its size: the
     * catalogue's Download, a preparing card with Pause, and the add form.
     */
    @Test
    @Config(fontScale = 2.0f)
    fun theModelsScreenHoldsAtTwiceTheFontSize() {
        val world = world()
        val entry = world.library.catalog.first()
        world.library.installFlow = flow {
            emit(InstallEvent.Progress(InstallStage.DOWNLOADING, 3, 10, 0.3))
            awaitCancellation()
        }
        val vm = viewModel(world)
        loaded(vm)
        show(vm)
        vm.download(entry.id)
        vm.openAddModel()
        vm.editAddModel("MILVLG/Imp-v1.5-3B-Phi2", "")
        settle("the install's progress") { loaded(vm).catalog.first().transfer is Transfer.Preparing }
        compose.onNodeWithText(compose.activity.getString(R.string.models_stage_downloading, entry.displayName, 30))
            .performScrollTo().assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("models-font-200")
        compose.onNodeWithText(compose.activity.getString(R.string.models_add_confirm)).performScrollTo().assertExists()
        compose.assertEveryControlLabelledAndLargeEnough()
        compose.screenshot("models-add-font-200")
        vm.pause(entry.id)
    }

    /**
     * Issue 27, defect 7: an import that fails offers to pick again (its Try
     * again once did nothing) and keeps no copy; Cancel stops it.
     */
    @Test
    fun aFailedImportOffersToPickAgainAndCancelStopsOne() {
        val world = world()
        val copied = temp.newFile("copied.gguf")
        var picks = 0
        world.library.importFlow = flow { throw app.imp.kit.ImpException.ModelUnusable("not a model") }
        val vm = ModelsViewModel(
            world.library, world.settings, world.session, world.installs, fakeDevice, world.network, texts,
            { _, progress -> progress(10, 10); copied },
        )
        loaded(vm)
        show(vm, ModelsActions(onImport = { picks++ }, onCancelImport = vm::cancelImport))
        vm.import("content://picked", "notes.gguf")
        settle("the failure") { loaded(vm).importing is ModelImport.Failed }
        assertTrue("the copy is not kept", !copied.exists())
        compose.onNodeWithText(compose.activity.getString(R.string.recovery_try_again)).performScrollTo().performClick()
        assertEquals(1, picks)

        val slow = ModelsViewModel(
            world.library, world.settings, world.session, world.installs, fakeDevice, world.network, texts,
            { _, progress ->
                progress(5, 10)
                awaitCancellation()
            },
        )
        loaded(slow)
        slow.import("content://big", "big.gguf")
        settle("the copy's progress") { loaded(slow).importing == ModelImport.Copying("big.gguf", 5, 10) }
        slow.cancelImport()
        assertEquals(ModelImport.Idle, loaded(slow).importing)
        assertEquals(compose.activity.getString(R.string.models_import_cancelled), loaded(slow).announcement?.text)
    }
}
