//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

// main outside a browser only says where the widget runs; the component itself builds and
// is tested natively (search_test.go).
func main() {
	fmt.Fprintln(os.Stderr, "widget: the sbmoe search widget runs in a browser: GOOS=js GOARCH=wasm go build -o widget.wasm ./ui/widget")
	os.Exit(2)
}
