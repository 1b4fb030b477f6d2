package tokenizer_test

import (
	"fmt"

	"github.com/sbmoe/sbmoe/core/tokenizer"
)

func Example() {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "cafe", "!"}
	tok, err := tokenizer.New(vocab, tokenizer.DefaultOptions())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.Tokenize("Unaffable CAFÉ!"))
	fmt.Println(tok.Encode("Unaffable CAFÉ!", 0))
	b := tok.EncodeBatch([]string{"cafe", "unaffable"}, 0)
	fmt.Println(b.IDs, b.Mask)
	// Output:
	// [un ##aff ##able cafe !]
	// [2 5 6 7 8 9 3]
	// [2 8 3 0 0 2 5 6 7 3] [1 1 1 0 0 1 1 1 1 1]
}
