package index_test

import (
	"fmt"

	"github.com/sbmoe/sbmoe/core/index"
)

func Example() {
	ix := index.New(3, index.Float32)
	for _, d := range []struct {
		id  string
		vec []float32
	}{
		{"cats", []float32{0.9, 0.1, 0}},
		{"dogs", []float32{0.1, 0.9, 0}},
		{"cars", []float32{0, 0.2, 0.8}},
	} {
		if err := ix.Add(d.id, d.vec); err != nil {
			fmt.Println(err)
			return
		}
	}
	for _, hit := range ix.Search([]float32{1, 0.5, 0}, 2) {
		fmt.Printf("%s %.2f\n", hit.ID, hit.Score)
	}
	// Output:
	// cats 0.95
	// dogs 0.55
}
