package site

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sbmoe/sbmoe/core/beir"
	"github.com/sbmoe/sbmoe/core/bundle"
	"github.com/sbmoe/sbmoe/core/index"
	"github.com/sbmoe/sbmoe/core/retriever"
	"github.com/sbmoe/sbmoe/moe"
	"github.com/sbmoe/sbmoe/tools/internal/bundler"
)

// WriteOptions tune Write.
type WriteOptions struct {
	bundler.Options // Display, Texts, Widget and Demo are set by Write
	// Adapt learns a query head from the site's own headings and titles (AdaptHead).
	Adapt bool
	// Log is told what adaptation did.
	Log io.Writer
}

// Write writes the bundle of a site's sections (bundler.Write): each section is encoded
// as its page's title with its heading, then its text; a result shows the title, the
// heading and the URL, and a snippet of the text, which the bundle carries; the search
// widget and its search page are included.
func Write(ctx context.Context, r *retriever.Retriever, sections []Section, opt WriteOptions) (*bundler.Result, error) {
	docs, display, texts := Documents(sections)
	o := opt.Options
	o.Display, o.Texts, o.Widget, o.Demo = display, texts, true, true
	if opt.Adapt {
		o.Head = func(ctx context.Context, r *retriever.Retriever, ix *index.Index) (*moe.Block, error) {
			return AdaptHead(ctx, r, ix, display, sections, opt.Log)
		}
	}
	return bundler.Write(ctx, r, docs, o)
}

// Documents turns sections into what a bundle encodes (the page's title and the section's
// heading, then its text), shows (title, heading, URL) and keeps for snippets (the text).
func Documents(sections []Section) ([]beir.Doc, []bundle.Doc, []string) {
	docs := make([]beir.Doc, len(sections))
	display := make([]bundle.Doc, len(sections))
	texts := make([]string, len(sections))
	for i, s := range sections {
		title := s.Title
		if s.Heading != "" {
			title += ": " + s.Heading
		}
		docs[i] = beir.Doc{ID: s.URL, Title: title, Text: s.Text}
		display[i] = bundle.Doc{ID: s.URL, Title: s.Title, Heading: s.Heading, URL: s.URL}
		texts[i] = s.Text
	}
	return docs, display, texts
}

// AdaptHead learns a query head from the site itself: every section's heading (the page's
// title for a page's own section) is a query whose answer is that section, learned as a
// visitor's clicks are (bundle.LearnHead, whose recipe keeps the head only if it ranks the
// held-out headings better than no head). It returns nil when no head was learned.
func AdaptHead(ctx context.Context, r *retriever.Retriever, ix *index.Index, display []bundle.Doc, sections []Section, log io.Writer) (*moe.Block, error) {
	if log == nil {
		log = io.Discard
	}
	b, err := bundle.New(display, r, ix)
	if err != nil {
		return nil, err
	}
	var pairs []bundle.Feedback
	for _, s := range sections {
		q := s.Heading
		if q == "" {
			q = s.Title
		}
		if strings.TrimSpace(q) != "" && len(q) <= bundle.MaxQueryBytes {
			pairs = append(pairs, bundle.Feedback{Query: q, DocID: s.URL})
		}
	}
	start := time.Now()
	res, err := b.LearnHead(ctx, pairs, bundle.LearnOptions{})
	if errors.Is(err, bundle.ErrNoFeedback) {
		fmt.Fprintf(log, "adapt: %v; the model's own head is kept\n", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	kept := "the untrained head: learning did not rank held-out headings better"
	if res.Epoch > 0 {
		kept = fmt.Sprintf("epoch %d's head", res.Epoch)
	}
	fmt.Fprintf(log, "adapt: %d headings and titles as queries (%d held out), %s, in %s\n",
		len(pairs), res.Val, kept, time.Since(start).Round(time.Millisecond))
	if res.Epoch == 0 {
		return nil, nil
	}
	return r.Head(), nil
}
