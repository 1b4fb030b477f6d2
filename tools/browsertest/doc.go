// Package browsertest holds the tests that run sbmoe in a real browser: headless Debian
// Chromium, driven by tools/browser/test-bundle.mjs through npm playwright-core, opening a
// bundle written by sbmoe bundle from a local server. They need what
// tools/browser/install.sh installs and fail with that command when it is missing.
package browsertest
