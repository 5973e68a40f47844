package app.imp.android

import android.content.Intent
import android.net.Uri
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.lifecycle.viewmodel.compose.viewModel
import app.imp.android.ui.ImpTheme
import app.imp.android.ui.conversation.ConversationArgs
import app.imp.android.ui.conversation.PictureSource
import java.util.UUID

/**
 * The one activity: the camera, the conversation about a picture (taken,
 * picked, or shared from another app through the share sheet), the models,
 * history, settings and benchmark screens ([Routes]).
 */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        enableEdgeToEdge()
        val graph = AppGraph.get(this)
        graph.haptics.attach(window.decorView)
        graph.pruneOnce()
        val shared = sharedPicture(intent)
        setContent {
            ImpTheme {
                ImpApp(graph, shared)
            }
        }
    }

    override fun onTrimMemory(level: Int) {
        super.onTrimMemory(level)
        // In the background, with the system short of memory: the model goes first (reloaded on return).
        if (level >= android.content.ComponentCallbacks2.TRIM_MEMORY_BACKGROUND) AppGraph.get(this).session.release()
    }

    override fun onStart() {
        super.onStart()
        // Back from the background: the model released by onTrimMemory (if it was) loads again.
        AppGraph.get(this).session.refresh()
    }

    /** A photo another app shared (ACTION_SEND image/): opens straight into a conversation. */
    private fun sharedPicture(intent: Intent?): String? {
        if (intent?.action != Intent.ACTION_SEND || intent.type?.startsWith("image/") != true) return null
        @Suppress("DEPRECATION")
        val uri = intent.getParcelableExtra<Uri>(Intent.EXTRA_STREAM)
        return uri?.toString()
    }
}

/** The app's screens. The back stack is a list of them, kept across rotation and process death. */
enum class Destination { Capture, Conversation, Models, History, Settings, Benchmark }

/**
 * Where the app opens: a shared picture straight into its conversation, alone,
 * so that Back returns to the app that shared it; on first run (no model
 * chosen) the models screen, over the camera so that Back leads there.
 */
fun startStack(sharedPicture: String?, modelChosen: Boolean): List<Destination> = when {
    sharedPicture != null -> listOf(Destination.Conversation)
    !modelChosen -> listOf(Destination.Capture, Destination.Models)
    else -> listOf(Destination.Capture)
}

@Composable
private fun ImpApp(graph: AppGraph, sharedPicture: String?) {
    val activity = androidx.compose.ui.platform.LocalContext.current as ComponentActivity
    var stack by rememberSaveable { mutableStateOf(startStack(sharedPicture, graph.settings.settings.value.modelId != null)) }
    // The open conversation (the view model keeps the rest).
    var conversationKey by rememberSaveable { mutableStateOf(sharedPicture?.let { UUID.randomUUID().toString() }) }
    var conversationPicture by rememberSaveable { mutableStateOf(sharedPicture) }
    var conversationSource by rememberSaveable { mutableStateOf(if (sharedPicture != null) PictureSource.Shared.name else PictureSource.Camera.name) }
    var conversationSavedId by rememberSaveable { mutableStateOf<String?>(null) }

    fun go(to: Destination) {
        stack = stack.filterNot { it == to } + to
    }

    fun back() {
        if (stack.size > 1) stack = stack.dropLast(1) else activity.finish()
    }

    fun openConversation(picture: String?, source: PictureSource, savedId: String? = null) {
        conversationKey = UUID.randomUUID().toString()
        conversationPicture = picture
        conversationSource = source.name
        conversationSavedId = savedId
        go(Destination.Conversation)
    }

    val stores: ScreenStores = viewModel()
    val entries = stack.map { if (it == Destination.Conversation) conversationKey?.let(::conversationEntry) ?: it.name else it.name }.toSet()
    // An entry that left the stack takes its view models with it.
    LaunchedEffect(entries) { stores.keepOnly(entries) }
    val routes = Routes(graph, activity, stores, ::go, ::back)
    when (stack.last()) {
        Destination.Capture -> routes.Capture(onPicture = { picture, source -> openConversation(picture, source) })
        Destination.Models -> routes.Models()
        Destination.History -> routes.History(onOpen = { id -> openConversation(null, PictureSource.History, id) })
        Destination.Settings -> routes.Settings()
        Destination.Benchmark -> routes.Benchmark()
        Destination.Conversation -> {
            val key = conversationKey
            if (key == null) {
                LaunchedEffect(Unit) { back() }
            } else {
                routes.Conversation(
                    ConversationArgs(key, conversationPicture, PictureSource.valueOf(conversationSource), conversationSavedId),
                    onLeave = {
                        conversationKey = null
                        back()
                    },
                    onNewPicture = {
                        conversationKey = null
                        // From a shared picture (the conversation alone on the stack): the camera takes its place.
                        if (stack.size == 1) stack = listOf(Destination.Capture) else back()
                    },
                )
            }
        }
    }
}
