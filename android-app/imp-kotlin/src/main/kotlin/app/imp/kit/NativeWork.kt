package app.imp.kit

import app.imp.ffi.CancelHandle
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.async
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ProducerScope
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.withContext

/**
 * Runs a long native call (download, import, benchmark) as a cold flow: [work]
 * gets a cancel handle and the producer scope to report progress into, and its
 * result becomes the flow's last element. Cancelling the collector cancels the
 * native work and waits for it to stop, so the same download can be started
 * again at once without two writers on one file.
 */
internal fun <T> nativeWork(work: suspend ProducerScope<T>.(CancelHandle) -> T): Flow<T> = channelFlow {
    val cancel = CancelHandle()
    // The native call itself is never abandoned half-way: it ends when the
    // native side has seen the cancel.
    val call = async { withContext(NonCancellable) { runCatching { work(cancel) } } }
    try {
        send(mapErrors { call.await().getOrThrow() })
    } catch (e: CancellationException) {
        cancel.cancel()
        withContext(NonCancellable) { call.join() }
        throw e
    } finally {
        cancel.close()
    }
}.buffer(Channel.UNLIMITED) // progress comes from a native thread that cannot suspend
