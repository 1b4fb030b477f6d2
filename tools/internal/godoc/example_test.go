package godoc_test

import (
	"fmt"
	"log"
	"os/exec"
	"strings"

	"github.com/sbmoe/sbmoe/tools/internal/godoc"
)

func Example() {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		log.Fatal(err)
	}
	docs, err := godoc.Corpus(strings.TrimSpace(string(out)))
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range docs {
		if d.ID == "strings.Split" {
			fmt.Println(d.Title)
		}
	}
	// A caller such as `make demo` then writes the corpus:
	// err = godoc.WriteJSONL("corpus.jsonl", docs)

	// Output:
	// func Split(s, sep string) []string
}
