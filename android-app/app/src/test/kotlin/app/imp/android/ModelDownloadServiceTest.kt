package app.imp.android

import android.app.NotificationManager
import android.content.Intent
import android.content.pm.ServiceInfo
import app.imp.android.install.ModelInstalls
import app.imp.android.install.ModelDownloadService
import app.imp.kit.InstallEvent
import app.imp.kit.InstallStage
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.flow.flow
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf

/**
 * The glue that keeps an install alive: starting one starts the foreground
 * service, whose notification follows the stage and share of the whole and
 * whose Cancel stops the install; the service stops itself when nothing runs.
 */
@RunWith(RobolectricTestRunner::class)
class ModelDownloadServiceTest {
    private val app = RuntimeEnvironment.getApplication()

    @Test
    fun theNotificationFollowsTheInstallAndItsCancelStopsIt() = withWaitingInstall(::followAndCancel)

    @Test
    fun theSystemsTimeLimitStopsTheInstallAndTheService() = withWaitingInstall { installs, library, cancelled ->
        val entry = library.catalog.first()
        installs.start(entry.id)
        idle()
        val started = shadowOf(app).nextStartedService
        val controller = Robolectric.buildService(ModelDownloadService::class.java, started).create().startCommand(0, 1)
        idle()
        // Android 15's six hours of data sync are used up.
        controller.get().onTimeout(1, ServiceInfo.FOREGROUND_SERVICE_TYPE_DATA_SYNC)
        settle("the install to stop") { installs.current.value[entry.id] == ModelInstalls.State.Stopped }
        assertTrue(cancelled())
        assertTrue("the service stopped itself", shadowOf(controller.get()).isStoppedBySelf)
    }

    /** Runs [test] with the service's installs replaced by one whose install waits until cancelled. */
    private fun withWaitingInstall(test: (ModelInstalls, FakeLibrary, () -> Boolean) -> Unit) {
        val library = FakeLibrary(mutableListOf())
        var cancelled = false
        library.installFlow = flow {
            emit(InstallEvent.Progress(InstallStage.DOWNLOADING, 30, 100, 0.3))
            try {
                awaitCancellation()
            } finally {
                cancelled = true
            }
        }
        val installs = ModelInstalls(library, MainScope()) { busy -> if (busy) ModelDownloadService.start(app) }
        val appInstalls = ModelDownloadService.installsFor
        ModelDownloadService.installsFor = { installs }
        try {
            test(installs, library) { cancelled }
        } finally {
            ModelDownloadService.installsFor = appInstalls
        }
    }

    private fun followAndCancel(installs: ModelInstalls, library: FakeLibrary, cancelled: () -> Boolean) {
        val entry = library.catalog.first()
        installs.start(entry.id)
        idle()

        val started = shadowOf(app).nextStartedService
        assertEquals(ModelDownloadService::class.java.name, started.component?.className)
        val controller = Robolectric.buildService(ModelDownloadService::class.java, started).create().startCommand(0, 1)
        idle()
        val service = shadowOf(controller.get())
        assertTrue("started in the foreground", service.lastForegroundNotification != null)
        val shown = shadowOf(app.getSystemService(NotificationManager::class.java)).getNotification(ModelDownloadService.NOTIFICATION_ID)
        val text = shadowOf(shown).contentText.toString()
        assertEquals(app.getString(R.string.models_stage_downloading, entry.displayName, 30), text)
        assertEquals(app.getString(R.string.install_cancel), shown.actions.single().title.toString())

        controller.withIntent(Intent(app, ModelDownloadService::class.java).setAction(ModelDownloadService.ACTION_CANCEL))
            .startCommand(0, 2)
        settle("the install to stop") { installs.current.value[entry.id] == ModelInstalls.State.Stopped }
        assertTrue(cancelled())
        settle("the service to stop itself") { service.isStoppedBySelf }
    }
}
