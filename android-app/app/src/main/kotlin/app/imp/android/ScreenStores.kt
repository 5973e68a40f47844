package app.imp.android

import androidx.lifecycle.ViewModel
import androidx.lifecycle.ViewModelStore
import androidx.lifecycle.ViewModelStoreOwner

/**
 * The view models of the screens on the back stack, one store per entry (as
 * Navigation's back-stack entries have): a conversation gets a view model of
 * its own, not the activity's, and an entry's view models are cleared when it
 * leaves the stack. Itself an activity view model, so entries outlive
 * rotation.
 */
class ScreenStores : ViewModel() {
    private val stores = mutableMapOf<String, ViewModelStore>()

    /** The owner of [entry]'s view models, made on first use. */
    fun owner(entry: String): ViewModelStoreOwner {
        val store = stores.getOrPut(entry) { ViewModelStore() }
        return object : ViewModelStoreOwner {
            override val viewModelStore = store
        }
    }

    /** Clears the view models of every entry not in [entries] (it left the stack). */
    fun keepOnly(entries: Set<String>) {
        for (gone in stores.keys - entries) stores.remove(gone)?.clear()
    }

    override fun onCleared() {
        stores.values.forEach { it.clear() }
        stores.clear()
    }
}
