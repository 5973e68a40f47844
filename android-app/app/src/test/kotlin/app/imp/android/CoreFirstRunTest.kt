package app.imp.android

import app.imp.android.engine.CoreEngineLoader
import app.imp.android.engine.CoreModelLibrary
import app.imp.android.engine.Texts
import app.imp.android.settings.AppSettings
import app.imp.android.ui.conversation.ConversationArgs
import app.imp.android.ui.conversation.ConversationUiState
import app.imp.android.ui.conversation.PictureSource
import app.imp.android.ui.conversation.Turn
import app.imp.android.ui.models.ModelsUiState
import app.imp.android.ui.models.ModelsViewModel
import app.imp.android.ui.models.Transfer
import app.imp.kit.ModelOrigin
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.GraphicsMode

/**
 * A phone alone, end to end on the real Rust core: the first run's catalogue
 * (the one the app ships), Download on a model with no published file, the
 * checkpoint fetched from the loopback hub that android-app/build-logic/test.sh
 * starts (-Dimp.hub: imp-test-hub serving the tiny sharded fixture as the
 * catalogue's imp-3b repository), verified and converted on the "phone", the
 * model chosen, then a picture and an answer from it.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class CoreFirstRunTest {
    @get:Rule
    val temp = TemporaryFolder()

    private val app = RuntimeEnvironment.getApplication()
    private val texts = Texts { id, args -> app.getString(id, *args) }

    @Test
    fun firstRunDownloadsFromTheHubThenAnswersOnTheRealCore() {
        val hub = System.getProperty("imp.hub") ?: error("set -Dimp.hub (the build's test script starts one)")
        val library = CoreModelLibrary(temp.newFolder("store"), temp.newFolder("imported"), hubEndpoint = hub)
        val world = ConversationWorld(
            texts, temp.newFolder(), settings = AppSettings(),
            engineLoader = CoreEngineLoader(), modelLibrary = library,
        )
        val models = ModelsViewModel(
            library, world.settings, world.session, world.installs, fakeDevice, world.network, texts,
            { _, _ -> error("no import here") },
        )
        fun loaded() = models.uiState.value as ModelsUiState.Loaded
        settle("the catalogue") { models.uiState.value is ModelsUiState.Loaded }
        assertTrue(loaded().firstRun)
        assertTrue(loaded().catalog.all { it.transfer == Transfer.Available })

        models.download("imp-3b")
        settle("the model made from the hub") { loaded().installed.isNotEmpty() }
        val installed = loaded().installed.single().model
        assertTrue("${installed.origin}", installed.origin is ModelOrigin.Hub)
        assertEquals(Transfer.Installed, loaded().catalog.first { it.id == "imp-3b" }.transfer)
        assertEquals(installed.id, world.settings.settings.value.modelId)
        assertEquals(texts.get(R.string.models_ready, loaded().catalog.first { it.id == "imp-3b" }.model.displayName), loaded().announcement?.text)

        val vm = world.viewModel()
        vm.open(ConversationArgs("first", world.picture().path, PictureSource.Camera))
        settle("the new model to load and the picture to be encoded") { vm.uiState.value is ConversationUiState.Ready }
        vm.describe()
        settle("an answer") {
            vm.uiState.value is ConversationUiState.Ready && vm.uiState.value.content.turns.singleOrNull()?.isDone == true
        }
        assertTrue(vm.uiState.value.content.turns.single().status is Turn.Status.Complete)
        vm.close()
        world.session.unload()
    }

    /**
     * "Add a model" on the real core: nonsense is explained in the core's
     * words; a repository's page, pasted, is fetched from the loopback hub,
     * converted and installed as its own model.
     */
    @Test
    fun aModelAddedByItsPageLinkIsMadeOnTheRealCore() {
        val hub = System.getProperty("imp.hub") ?: error("set -Dimp.hub (the build's test script starts one)")
        val library = CoreModelLibrary(temp.newFolder("store"), temp.newFolder("imported"), hubEndpoint = hub)
        val world = ConversationWorld(texts, temp.newFolder(), settings = AppSettings(), modelLibrary = library)
        val models = ModelsViewModel(
            library, world.settings, world.session, world.installs, fakeDevice, world.network, texts,
            { _, _ -> error("no import here") },
        )
        fun loaded() = models.uiState.value as ModelsUiState.Loaded
        settle("the catalogue") { models.uiState.value is ModelsUiState.Loaded }

        models.openAddModel()
        models.editAddModel("the imp model please", "")
        models.confirmAddModel()
        assertTrue("${loaded().addForm}", loaded().addForm?.error?.contains("Hugging Face repository") == true)

        models.editAddModel("$hub/someone/Imp-tiny", "")
        models.confirmAddModel()
        settle("the added model's row") { loaded().added.isNotEmpty() || loaded().installed.isNotEmpty() }
        settle("the added model installed") { loaded().installed.isNotEmpty() }
        val installed = loaded().installed.single().model
        assertEquals("imp-tiny-q4_k", installed.id)
        assertEquals(null, installed.catalogId)
        assertTrue("${installed.origin}", installed.origin is ModelOrigin.Hub)
        assertTrue(loaded().added.isEmpty())
        assertEquals(installed.id, world.settings.settings.value.modelId)
        world.session.unload()
    }
}
