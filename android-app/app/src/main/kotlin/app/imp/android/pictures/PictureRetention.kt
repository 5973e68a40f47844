package app.imp.android.pictures

import app.imp.android.engine.ConversationArchive

/**
 * What happens to kept pictures: a conversation's full-size picture lives as
 * long as the conversation (the history drops old ones past its size bound,
 * and the person deletes some); a picture nobody asked about is kept a day
 * (the conversation may still be open). Run once when the app starts.
 */
object PictureRetention {
    const val UNASKED_KEPT_MS = 24L * 60 * 60 * 1000

    suspend fun prune(archive: ConversationArchive, pictures: PictureStore, nowMs: Long) {
        val kept = mutableSetOf<String>()
        var offset = 0
        while (true) {
            val page = archive.list(offset, PAGE)
            kept += page.items.map { it.id }
            offset += page.items.size
            if (page.items.isEmpty() || offset + page.skipped >= page.total) break
        }
        pictures.prune(kept, keepFiles = emptySet(), olderThanMs = nowMs - UNASKED_KEPT_MS)
    }

    private const val PAGE = 200
}
