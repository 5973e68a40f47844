package app.imp.android.ui.capture

import app.imp.android.platform.FrameLook

/** What the person aiming the camera is told. */
enum class AimingHint { TooDark, Moving, Blurred }

/**
 * Turns a stream of [FrameLook]s into a hint that is calm enough to be read
 * aloud: a problem is shown once it has lasted [settleMs] (a passing shadow or
 * a turn of the wrist says nothing); a shown hint stays until its problem has
 * been gone for [settleMs]; and a new hint comes at most every [gapMs], so
 * TalkBack, which reads the hint's live region, speaks one every few seconds
 * at most. Darkness is told first (nothing else can be judged in the dark),
 * then motion (which also blurs).
 */
class AimingCoach(private val settleMs: Long = 800, private val gapMs: Long = 4_000) {
    private var shown: AimingHint? = null
    private var shownAtMs = Long.MIN_VALUE / 2
    private var candidate: AimingHint? = null
    private var candidateSinceMs = 0L

    /** The hint to show after this look (null: none). */
    fun see(look: FrameLook, nowMs: Long): AimingHint? {
        val problem = when {
            look.tooDark -> AimingHint.TooDark
            look.moving -> AimingHint.Moving
            look.blurred -> AimingHint.Blurred
            else -> null
        }
        if (problem != candidate) {
            candidate = problem
            candidateSinceMs = nowMs
        }
        val lasted = nowMs - candidateSinceMs >= settleMs
        when {
            problem == shown -> Unit
            !lasted -> Unit
            problem == null -> shown = null
            nowMs - shownAtMs >= gapMs -> {
                shown = problem
                shownAtMs = nowMs
            }
            // Too soon for the new hint: at least the old one, no longer true, goes.
            else -> shown = null
        }
        return shown
    }

    /** The preview stopped: start again from nothing. */
    fun reset() {
        shown = null
        candidate = null
    }
}
