package app.imp.android

import androidx.lifecycle.ViewModel
import androidx.lifecycle.ViewModelProvider
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotSame
import org.junit.Assert.assertSame
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner

/**
 * Issue 27, defect 1's glue: each back-stack entry (each conversation) has
 * view models of its own, which end when it leaves the stack, not with the
 * activity.
 */
@RunWith(RobolectricTestRunner::class)
class ScreenStoresTest {
    class Counted : ViewModel() {
        var cleared = 0

        override fun onCleared() {
            cleared++
        }
    }

    private fun ScreenStores.model(entry: String): Counted =
        ViewModelProvider.create(owner(entry), viewModelFactory { initializer { Counted() } })[entry, Counted::class]

    @Test
    fun eachEntryHasItsOwnViewModelsClearedWhenItLeavesTheStack() {
        val stores = ScreenStores()
        val first = stores.model(conversationEntry("a"))
        val second = stores.model(conversationEntry("b"))
        assertNotSame(first, second)
        // Rotation: the same entry finds the same view model.
        assertSame(first, stores.model(conversationEntry("a")))

        stores.keepOnly(setOf(Destination.Capture.name, conversationEntry("b")))
        assertEquals(1, first.cleared)
        assertEquals(0, second.cleared)
        assertNotSame(first, stores.model(conversationEntry("a")))
    }
}
