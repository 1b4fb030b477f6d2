package hub_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sbmoe/sbmoe/tools/internal/hub"
)

// Fetch the default model into models/, printing progress. (Not run by go test: it needs the
// network.)
func ExampleFetch() {
	opts := hub.Options{Progress: func(file string, done, total int64) {
		fmt.Printf("\r%s: %d/%d bytes", file, done, total)
	}}
	err := hub.Fetch(context.Background(), "sentence-transformers/all-MiniLM-L6-v2", "main",
		"models/all-MiniLM-L6-v2", opts)
	if err != nil {
		log.Fatal(err)
	}
}
