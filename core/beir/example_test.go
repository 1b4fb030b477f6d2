package beir_test

import (
	"fmt"
	"strings"

	"github.com/sbmoe/sbmoe/core/beir"
)

func ExampleReadQrels() {
	qrels, err := beir.ReadQrels(strings.NewReader("query-id\tcorpus-id\tscore\nq1\td7\t1\nq1\td3\t2\n"), "test.tsv")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(qrels["q1"]["d3"], qrels["q1"]["d7"])

	_, err = beir.ReadQrels(strings.NewReader("q1\td7\t1\nq1\td3\tyes\n"), "test.tsv")
	fmt.Println(err)
	// Output:
	// 2 1
	// test.tsv:2: field score: "yes" is not an integer
}

func ExampleDocText() {
	fmt.Printf("%q\n", beir.DocText(beir.Doc{ID: "4983", Title: "Microstructural development", Text: "Alterations of the architecture..."}))
	fmt.Printf("%q\n", beir.DocText(beir.Doc{ID: "13", Title: "", Text: "the crystalline lens "}))
	// Output:
	// "Microstructural development Alterations of the architecture..."
	// "the crystalline lens"
}
