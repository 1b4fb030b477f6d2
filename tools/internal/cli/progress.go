package cli

import (
	"io"

	"github.com/schollz/progressbar/v3"
)

// NewProgress draws a progress bar with rate and ETA on w (stderr), or nothing when
// quiet is set.
func NewProgress(w io.Writer, total int, what string, quiet bool) func(done, total int) {
	if quiet {
		return func(int, int) {}
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("docs"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200_000_000),
		progressbar.OptionOnCompletion(func() { io.WriteString(w, "\n") }),
		progressbar.OptionFullWidth(),
	)
	// Rendering now starts the bar's clock, so the first rate and ETA count the first batch.
	bar.RenderBlank()
	return func(done, _ int) { bar.Set(done) }
}
