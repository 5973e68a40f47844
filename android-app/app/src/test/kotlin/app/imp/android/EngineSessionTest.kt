package app.imp.android

import app.imp.android.engine.EngineSession
import app.imp.android.engine.Texts
import app.imp.android.platform.DeviceInfo
import app.imp.android.settings.AppSettings
import app.imp.android.settings.SettingsRepository
import app.imp.android.ui.conversation.ConversationArgs
import app.imp.android.ui.conversation.ConversationUiState
import app.imp.android.ui.conversation.PictureSource
import app.imp.kit.DeviceProfile
import kotlinx.coroutines.MainScope
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
 * Issue 27, defect 5: one memory rule for the models screen and the load, a
 * model loaded once however often the app looks again, never two models in
 * memory when the person switches, and the model let go when the system is
 * short of memory.
 */
@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class EngineSessionTest {
    @get:Rule
    val temp = TemporaryFolder()

    private val app = RuntimeEnvironment.getApplication()
    private val texts = Texts { id, args -> app.getString(id, *args) }

    /** An 8 GB phone whose free memory changes every time it is asked, as a real one's does. */
    private val phone = object : DeviceInfo {
        var asked = 0L

        override fun profile() = DeviceProfile(8_000_000_000, 1_000_000_000 + 100_000_000 * asked++, 20_000_000_000)

        override val bigCores = 4
    }

    @Test
    fun theLoadLimitIsTheModelsScreensLineAndLookingAgainDoesNotReload() {
        val loader = FakeLoader()
        val settings = SettingsRepository(MemorySettingsStore(AppSettings(modelId = "imp-v1-3b-q4")))
        val session = EngineSession(loader, FakeLibrary(), settings, phone, MainScope(), texts).also { it.start() }
        settle("the model") { session.state.value is EngineSession.State.Ready }
        repeat(3) {
            session.refresh()
            idle()
        }
        assertEquals("loaded once, whatever memory was free each time", 1, loader.loads.size)
        // 70 % of the phone's RAM: where the models screen's "does not fit" begins (device_fit.rs), not the 1 GB free.
        assertEquals(5_600_000_000L, loader.loads.single().second.availableMemoryBytes)
    }

    @Test
    fun switchingModelsMidConversationLetsGoOfTheFirstBeforeTheSecondLoads() {
        val world = ConversationWorld(texts, temp.newFolder())
        world.library.models += installedModel("second")
        val vm = world.viewModel()
        vm.open(ConversationArgs("k", world.picture().path, PictureSource.Camera))
        settle("the picture encoded") { vm.uiState.value is ConversationUiState.Ready }
        assertEquals(1, world.engine.openConversations)
        var openWhenLoading = -1
        world.loader.onLoad = { openWhenLoading = world.engine.openConversations }
        world.settings.update { it.copy(modelId = "second") }
        settle("the second model") { world.loader.loads.size == 2 }
        assertEquals("the first model's conversation was closed before the second loaded", 0, openWhenLoading)
        settle("the picture encoded again") { world.engine.pictures.size == 2 && vm.uiState.value is ConversationUiState.Ready }
        assertEquals(1, world.engine.openConversations)
        vm.close()
    }

    @Test
    fun underMemoryPressureTheModelGoesAndComesBackForTheOpenConversation() {
        val world = ConversationWorld(texts, temp.newFolder())
        val vm = world.viewModel()
        vm.open(ConversationArgs("k", world.picture().path, PictureSource.Camera))
        settle("the picture encoded") { vm.uiState.value is ConversationUiState.Ready }
        world.session.release()
        idle()
        assertTrue(world.engine.closed)
        assertEquals(0, world.engine.openConversations)
        assertEquals(EngineSession.State.NoModel, world.session.state.value)
        // Back in front (MainActivity.onStart): loaded again, the picture encoded again.
        world.session.refresh()
        settle("the picture encoded again") { world.engine.pictures.size == 2 && vm.uiState.value is ConversationUiState.Ready }
        assertEquals(1, world.engine.openConversations)
        vm.close()
    }
}
