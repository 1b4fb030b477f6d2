package main

// Backend is what the widget needs of the retriever, which runs in a Web Worker behind
// sbmoe.js. Every call blocks until the answer comes (the widget calls them from
// goroutines, never from an event handler).
type Backend interface {
	// Open starts the retriever and returns once keyword search works; progress is told
	// of the bytes downloaded, the model's included, until it has loaded. The model's
	// download waits for LoadModel.
	Open(progress func(Progress)) (Info, error)
	// LoadModel starts the model's download.
	LoadModel() error
	// WaitModel returns once the model has loaded (Info.Mode is then "hybrid").
	WaitModel() (Info, error)
	// Search returns the k best sections for a query, with their snippets.
	Search(query string, k int) (Results, error)
	// Feedback records that the visitor chose a result for a query, in this browser.
	Feedback(query, id string) (Learning, error)
	// Train learns a head from the recorded feedback and swaps it in.
	Train() (Learning, error)
	// Reset forgets the learned head and the recorded feedback.
	Reset() (Learning, error)
	// Navigate opens a result's URL.
	Navigate(url string)
	// WhenIdle runs f (in a goroutine of its own) when the page is idle.
	WhenIdle(f func())
}

// Progress is how much of the bundle has downloaded.
type Progress struct {
	Loaded, Total int64
}

// Info is what the retriever says when it opens.
type Info struct {
	Documents int
	Mode      string // "lexical" while the model loads, then "hybrid" (or "dense")
	Learning
}

// Learning is what the retriever has learned in this browser.
type Learning struct {
	Feedback int  // choices recorded
	Trained  int  // of those, how many the current head learned from
	Learned  bool // a learned head is in use
}

// Results are the answer to one query.
type Results struct {
	Hits []Hit
	Mode string
}

// Hit is one result: a section of a page.
type Hit struct {
	ID, Title, Heading, URL string
	Snippet                 []Segment
}

// Segment is a run of a snippet; Mark is set on the sentence that best matches the query.
type Segment struct {
	Text string
	Mark bool
}
