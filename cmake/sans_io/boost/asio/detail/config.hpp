// Shadows Asio's own config header on the sans-io targets (see cmake/PoolwatchTargets.cmake):
// every Asio and Beast header includes it, so any of them here fails the build.
#error "sans-io target: this library must not include Asio or Beast (see docs/architecture.md)"
