package weights_test

import (
	"fmt"
	"log"

	"github.com/sbmoe/sbmoe/core/weights"
)

func Example() {
	s, err := weights.ReadSafetensors("../../testdata/weights/tiny.safetensors")
	if err != nil {
		log.Fatal(err)
	}
	// The fixture is named like a BertForPreTraining checkpoint; Canonical gives BertModel names.
	bert, err := s.Canonical()
	if err != nil {
		log.Fatal(err)
	}
	ln, err := bert.Get("embeddings.LayerNorm.weight", 8)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(s), "tensors,", len(bert), "of them BertModel weights")
	fmt.Println(ln.Name, ln.Shape)
	_, err = bert.Get("embeddings.word_embeddings.weight", 10, 16)
	fmt.Println(err)
	// Output:
	// 13 tensors, 6 of them BertModel weights
	// embeddings.LayerNorm.weight [8]
	// tensor embeddings.word_embeddings.weight: shape [10 8], want [10 16]
}
