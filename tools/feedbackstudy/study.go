package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// studyParts are the parts of the study, in the order they run.
var studyParts = []string{"selection", "curve", "ablations", "classic"}

// curveArms are trained at every click count of SciFact's learning curve.
var curveArms = []arm{armProduct, armBoth, armPaper, armLearned}

// classicArms are trained on every classic collection, with each arm's pairs.
var classicArms = []struct {
	arm   arm
	pairs string
}{
	{armProduct, pairsCrops},
	{armProduct, pairsTitles},
	{armBoth, pairsCrops},
	{armPaper, pairsCrops},
	{armLearned, pairsCrops},
}

// run trains every run that is not done yet, then writes the report.
func (st *study) run() error {
	start := time.Now()
	ctx := context.Background()
	rep := &report{}
	for _, name := range st.sets {
		prepStart := time.Now()
		c, err := st.prepare(ctx, name)
		if err != nil {
			return err
		}
		set := &setResult{collection: c, PrepareSeconds: time.Since(prepStart).Seconds()}
		rep.Sets = append(rep.Sets, set)
		runStart := time.Now()
		switch {
		case c.supervised:
			if slices.Contains(st.parts, "selection") {
				if set.dev, set.Tuning, err = st.tune(ctx, c); err != nil {
					return err
				}
			}
			for _, n := range st.clicks {
				if !slices.Contains(st.parts, "curve") {
					break
				}
				for _, a := range curveArms {
					for _, seed := range st.seeds {
						r, err := st.trainRun(ctx, c, a, pairsClicks, n, seed)
						if err != nil {
							return err
						}
						set.Runs = append(set.Runs, r)
					}
				}
			}
			most := st.clicks[len(st.clicks)-1]
			for _, a := range ablations {
				if !slices.Contains(st.parts, "ablations") {
					break
				}
				for _, seed := range st.seeds {
					r, err := st.trainRun(ctx, c, a, pairsClicks, most, seed)
					if err != nil {
						return err
					}
					set.Runs = append(set.Runs, r)
				}
			}
		case slices.Contains(st.parts, "classic"):
			for _, ca := range classicArms {
				if ca.pairs == pairsTitles && len(c.titles) == 0 {
					continue
				}
				for _, seed := range st.seeds {
					r, err := st.trainRun(ctx, c, ca.arm, ca.pairs, 0, seed)
					if err != nil {
						return err
					}
					set.Runs = append(set.Runs, r)
				}
			}
		}
		set.RunSeconds = time.Since(runStart).Seconds()
	}
	rep.summarise(st)
	if err := rep.write(st.report); err != nil {
		return err
	}
	fmt.Fprintf(st.stdout, "study done in %s: %s\n", time.Since(start).Round(time.Second), filepath.Join(st.report, "report.md"))
	return nil
}
