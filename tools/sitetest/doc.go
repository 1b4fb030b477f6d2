// Package sitetest holds the tests of static-site search end to end: a small site of the
// Go documentation indexed as sbmoe site does it, then searched through the search widget
// in headless Debian Chromium (tools/browser/test-site.mjs, driven by npm playwright-core),
// and sbmoe site run again over an unchanged and a changed site. The browser test needs
// what tools/browser/install.sh installs and fails with that command when it is missing.
package sitetest
