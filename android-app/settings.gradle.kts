// For Android Studio and Gradle users. CI cannot run Gradle (neither Gradle
// nor the Android Gradle plugin can be downloaded there): it builds and tests
// the same sources with tests/android.sh, from the same version catalog
// (gradle/libs.versions.toml). Keep both working when you change the build.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "imp"
include(":app")
