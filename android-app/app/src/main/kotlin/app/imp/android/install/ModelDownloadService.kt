package app.imp.android.install

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.os.IBinder
import androidx.annotation.VisibleForTesting
import androidx.core.app.NotificationCompat
import androidx.core.app.ServiceCompat
import app.imp.android.AppGraph
import app.imp.android.MainActivity
import app.imp.android.R
import app.imp.kit.InstallStage
import kotlinx.coroutines.Job
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

/**
 * Keeps a model install going while the app is in the background or the
 * screen is locked: a foreground service of type dataSync whose notification
 * shows the stage and the share of the whole, with Cancel. It only watches
 * [ModelInstalls] (the work itself runs there) and stops when nothing runs.
 */
class ModelDownloadService : Service() {
    private val scope = MainScope()
    private var watching: Job? = null

    override fun onBind(intent: Intent?): IBinder? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        val installs = installsFor(this)
        if (intent?.action == ACTION_CANCEL) installs.cancelAll()
        ServiceCompat.startForeground(
            this, NOTIFICATION_ID, notification(null, 0.0, null),
            ServiceInfo.FOREGROUND_SERVICE_TYPE_DATA_SYNC,
        )
        if (watching == null) {
            watching = scope.launch {
                installs.current.collect { states ->
                    val running = states.entries.firstOrNull { it.value is ModelInstalls.State.Running }
                    if (running == null) {
                        ServiceCompat.stopForeground(this@ModelDownloadService, ServiceCompat.STOP_FOREGROUND_REMOVE)
                        stopSelf()
                        return@collect
                    }
                    val state = running.value as ModelInstalls.State.Running
                    val name = installs.displayName(running.key)
                    manager().notify(NOTIFICATION_ID, notification(name, state.fraction, state.stage))
                }
            }
        }
        return START_NOT_STICKY
    }

    /**
     * Android 15 gives a data-sync service six hours a day; past them it must
     * stop or the app is stopped. The install is cancelled (a download keeps
     * its bytes and resumes from them when the person starts it again).
     * Service.onTimeout(int, int) is API 35 and the app compiles against 34
     * (libs.versions.toml): no `override`, the same JVM signature overrides it.
     */
    @Suppress("unused") // called by Android 15
    fun onTimeout(startId: Int, fgsType: Int) {
        installsFor(this).cancelAll()
        ServiceCompat.stopForeground(this, ServiceCompat.STOP_FOREGROUND_REMOVE)
        stopSelf()
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    private fun manager() = getSystemService(NotificationManager::class.java)

    private fun notification(name: String?, fraction: Double, stage: InstallStage?): Notification {
        manager().createNotificationChannel(
            NotificationChannel(CHANNEL, getString(R.string.install_channel), NotificationManager.IMPORTANCE_LOW),
        )
        val percent = (fraction * 100).toInt()
        val text = when (stage) {
            null -> getString(R.string.install_starting)
            InstallStage.DOWNLOADING -> getString(R.string.models_stage_downloading, name, percent)
            InstallStage.CONVERTING -> getString(R.string.models_stage_converting, name, percent)
            InstallStage.VERIFYING -> getString(R.string.models_stage_verifying, name, percent)
        }
        val open = PendingIntent.getActivity(
            this, 0, Intent(this, MainActivity::class.java), PendingIntent.FLAG_IMMUTABLE,
        )
        val cancel = PendingIntent.getService(
            this, 1, Intent(this, ModelDownloadService::class.java).setAction(ACTION_CANCEL), PendingIntent.FLAG_IMMUTABLE,
        )
        return NotificationCompat.Builder(this, CHANNEL)
            .setSmallIcon(android.R.drawable.stat_sys_download)
            .setContentTitle(getString(R.string.install_title))
            .setContentText(text)
            .setProgress(100, percent, stage == null)
            .setOnlyAlertOnce(true)
            .setOngoing(true)
            .setContentIntent(open)
            .addAction(0, getString(R.string.install_cancel), cancel)
            .build()
    }

    companion object {
        const val ACTION_CANCEL = "app.imp.android.install.CANCEL"
        const val NOTIFICATION_ID = 7
        private const val CHANNEL = "model-installs"

        /** The installs the service follows: the app's (tests give their own). */
        @VisibleForTesting
        var installsFor: (Context) -> ModelInstalls = { AppGraph.get(it).installs }

        /** Called when an install starts; the service stops itself when none runs. */
        fun start(context: Context) {
            context.startForegroundService(Intent(context, ModelDownloadService::class.java))
        }
    }
}
