// Not run by CI (see settings.gradle.kts): tests/android.sh builds the same
// sources and reads namespace, applicationId, versionCode and versionName
// from this file, versions and SDK levels from gradle/libs.versions.toml.
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

android {
    namespace = "app.imp.android"
    compileSdk = libs.versions.compileSdk.get().toInt()

    defaultConfig {
        applicationId = "app.imp.android"
        minSdk = libs.versions.minSdk.get().toInt()
        targetSdk = libs.versions.targetSdk.get().toInt()
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "x86_64") }
    }

    sourceSets["main"].apply {
        // The Kotlin wrapper over the Rust core, and the UniFFI bindings and
        // libimp_ffi.so that uniffi/build-mobile.sh android generates.
        kotlin.srcDirs("../imp-kotlin/src/main/kotlin", "../imp-kotlin/build/generated")
        jniLibs.srcDirs("../imp-kotlin/jniLibs")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    buildFeatures { compose = true }

    packaging { jniLibs { useLegacyPackaging = false } }

    testOptions {
        unitTests {
            isIncludeAndroidResources = true
            all {
                it.systemProperty("robolectric.graphicsMode", "NATIVE")
                it.systemProperty("jna.library.path", rootProject.file("../target/debug").path)
                it.systemProperty("imp.fixtures", rootProject.file("../tests/fixtures").path)
                it.systemProperty("imp.screenshots", layout.buildDirectory.dir("screenshots").get().asFile.path)
            }
        }
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

dependencies {
    implementation(libs.bundles.app)
    implementation(libs.jna) { artifact { type = "aar" } }
    testImplementation(libs.bundles.app.test)
    // The desktop JNA (with its linux-x86-64 dispatch library) for Robolectric.
    testImplementation(libs.jna)
}
