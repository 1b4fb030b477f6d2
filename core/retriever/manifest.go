package retriever

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"
)

// ManifestFile is the file that makes a folder a trained sbmoe model (what sbmoe train
// writes): a Manifest in JSON.
const ManifestFile = "sbmoe.json"

// Which vectors a head changes.
const (
	HeadBoth    = "both"    // queries and documents, as the paper trains it
	HeadQueries = "queries" // queries only: documents keep the encoder's vectors
)

// manifestFormat and manifestVersion identify ManifestFile.
const (
	manifestFormat  = "sbmoe-model"
	manifestVersion = 1
)

// Manifest is sbmoe.json: where the encoder and the head are, and how texts are prepared
// before encoding. Training and serving read the same manifest, so a model sees the same
// text when it learns and when it answers.
type Manifest struct {
	Format  string `json:"format"`  // "sbmoe-model"
	Version int    `json:"version"` // 1
	// Encoder is the folder, relative to the manifest, holding the encoder as a Hugging
	// Face model folder ("encoder"; "." for the manifest's own folder).
	Encoder string `json:"encoder"`
	// Head is the head file (moe.HeadFile), relative to the manifest; empty for none.
	Head string `json:"head,omitempty"`
	// HeadAppliesTo is HeadBoth or HeadQueries; empty means HeadBoth.
	HeadAppliesTo string `json:"head_applies_to,omitempty"`
	// Lowercase lower-cases queries and documents before the tokenizer sees them, as the
	// SB-MoE authors train (their tokenizers lower-case anyway; a cased model does not).
	Lowercase bool `json:"lowercase"`
	// Recipe names how the model was trained ("paper", "learned", "none", ...), for people.
	Recipe string `json:"recipe,omitempty"`
}

// NewManifest is the manifest of a trained folder with the encoder in encoder/ and, when
// head is set, the head in head.safetensors.
func NewManifest(head bool, lowercase bool, recipe string) Manifest {
	m := Manifest{Format: manifestFormat, Version: manifestVersion, Encoder: "encoder", Lowercase: lowercase, Recipe: recipe}
	if head {
		m.Head, m.HeadAppliesTo = "head.safetensors", HeadBoth
	}
	return m
}

// Marshal returns the manifest as indented JSON, as sbmoe.json holds it.
func (m Manifest) Marshal() ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseManifest reads sbmoe.json. Unknown fields are errors: a misspelt field would
// otherwise fall back to its default silently.
func ParseManifest(b []byte) (Manifest, error) {
	// Checked first: encoding/json would replace each invalid byte of an unknown field's
	// name by an escape in its error, costing 60 bytes of memory per byte of input.
	if !utf8.Valid(b) {
		return Manifest{}, errors.New("not valid UTF-8")
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return Manifest{}, fmt.Errorf("field %s: %s is not a %s", typeErr.Field, typeErr.Value, typeErr.Type.Kind())
		}
		return Manifest{}, err
	}
	if dec.More() {
		return Manifest{}, errors.New("data after the JSON object")
	}
	if err := m.validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

func (m Manifest) validate() error {
	local := func(p string) bool { return fs.ValidPath(p) && !strings.Contains(p, `\`) }
	switch {
	case m.Format != manifestFormat:
		return fmt.Errorf("field format: %q, want %q", m.Format, manifestFormat)
	case m.Version != manifestVersion:
		return fmt.Errorf("field version: %d, this build reads %d", m.Version, manifestVersion)
	case m.Encoder == "" || !local(m.Encoder):
		return fmt.Errorf("field encoder: %q is not a folder inside the model folder", m.Encoder)
	case m.Head != "" && (!local(m.Head) || path.Clean(m.Head) == "."):
		return fmt.Errorf("field head: %q is not a file inside the model folder", m.Head)
	case m.HeadAppliesTo != "" && m.HeadAppliesTo != HeadBoth && m.HeadAppliesTo != HeadQueries:
		return fmt.Errorf("field head_applies_to: %q, want %q or %q", m.HeadAppliesTo, HeadBoth, HeadQueries)
	case m.Head == "" && m.HeadAppliesTo != "":
		return errors.New("field head_applies_to: set, but field head names no head")
	}
	return nil
}

// preprocess prepares a query or a document text as the manifest says.
func (m Manifest) preprocess(text string) string {
	if m.Lowercase {
		return strings.ToLower(text)
	}
	return text
}
