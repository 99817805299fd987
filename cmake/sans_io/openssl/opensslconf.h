// Shadows OpenSSL's configuration header on the sans-io targets: every public OpenSSL
// header includes it, so any of them here fails the build.
#error "sans-io target: this library must not include OpenSSL (see docs/architecture.md)"
