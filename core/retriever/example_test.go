package retriever_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sbmoe/sbmoe/core/retriever"
)

// The default model (make model) answers two questions over three documents.
func Example() {
	ctx := context.Background()
	r, err := retriever.OpenDir("../../models/all-MiniLM-L6-v2", retriever.Options{})
	if err != nil {
		log.Fatal(err)
	}
	docs := []retriever.Document{
		{ID: "strings.Split", Title: "func Split", Text: "Split slices s into all substrings separated by sep."},
		{ID: "os.ReadFile", Title: "func ReadFile", Text: "ReadFile reads the named file and returns the contents."},
		{ID: "sort.Ints", Title: "func Ints", Text: "Ints sorts a slice of ints in increasing order."},
	}
	ix, err := r.Index(ctx, docs, nil)
	if err != nil {
		log.Fatal(err)
	}
	hits, err := r.Search(ctx, ix, []string{"cut a string at every comma", "order numbers from small to large"}, 1)
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range hits {
		fmt.Println(h[0].ID)
	}
	// Output:
	// strings.Split
	// sort.Ints
}
