// Package hub downloads the files of a Hugging Face model repository that sbmoe needs: the
// config, the tokenizer files, the sentence-transformers module files and one set of weights
// (model.safetensors, else pytorch_model.bin, or their sharded forms).
//
// It speaks the Hub's plain HTTP interface — GET /api/models/{repo}/revision/{rev} to list the
// repository and pin the revision to a commit, then GET /{repo}/resolve/{commit}/{file} for
// each file — rather than mirroring huggingface_hub's cache layout: files land directly in the
// destination folder, which is the layout every other sbmoe command reads.
//
// Downloads go to "<file>.incomplete" and resume with a Range request; a finished file is
// checked against the checksum the Hub publishes in its ETag headers (sha256 for LFS files,
// the git blob sha1 for the rest) before it is renamed into place, so a file with its final
// name is always complete and verified. Files already present are kept: delete the folder to
// fetch a newer revision.
package hub
