package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultEndpoint is the public Hub, used when neither Options.Endpoint nor HF_ENDPOINT is set.
const DefaultEndpoint = "https://huggingface.co"

// Options configures Fetch. The zero value downloads from the public Hub with the token, if
// any, in HF_TOKEN.
type Options struct {
	// Endpoint is the Hub's base URL; empty means $HF_ENDPOINT, then DefaultEndpoint.
	Endpoint string
	// Token is sent as a Bearer token; empty means $HF_TOKEN. Gated and private repositories
	// need one.
	Token string
	// Client makes the requests; nil means http.DefaultClient.
	Client *http.Client
	// Progress, when set, is called as each file's bytes arrive. done counts bytes already on
	// disk, so a resumed download starts where it left off; total is -1 when the server does
	// not say.
	Progress func(file string, done, total int64)
}

// metadataFiles are fetched when the repository has them. config.json is required besides.
var metadataFiles = []string{
	"config.json",
	"tokenizer.json",
	"vocab.txt",
	"tokenizer_config.json",
	"special_tokens_map.json",
	"modules.json",
	"sentence_bert_config.json",
	"config_sentence_transformers.json",
	"1_Pooling/config.json",
}

// weightFiles in order of preference; an index file brings its shards along.
var weightFiles = []string{
	"model.safetensors",
	"model.safetensors.index.json",
	"pytorch_model.bin",
	"pytorch_model.bin.index.json",
}

// repoInfo is the part of the Hub's model-info answer that Fetch reads.
type repoInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
	} `json:"siblings"`
}

// Fetch downloads the files sbmoe needs from the model repository repo ("owner/name") at
// revision (a branch, tag or commit; empty means "main") into destDir.
func Fetch(ctx context.Context, repo, revision, destDir string, opts Options) error {
	if revision == "" {
		revision = "main"
	}
	c, err := newClient(repo, opts)
	if err != nil {
		return err
	}
	info, err := c.info(ctx, revision)
	if err != nil {
		return err
	}
	listed := make(map[string]bool, len(info.Siblings))
	for _, s := range info.Siblings {
		listed[s.RFilename] = true
	}
	if !listed["config.json"] {
		return fmt.Errorf("fetch %s@%s: repository has no config.json", repo, revision)
	}
	// Pin every download to the commit the listing came from, so a push during the download
	// cannot mix files of two revisions.
	commit := revision
	if info.SHA != "" {
		commit = info.SHA
	}

	var files []string
	for _, f := range metadataFiles {
		if listed[f] {
			files = append(files, f)
		}
	}
	weights := ""
	for _, f := range weightFiles {
		if listed[f] {
			weights = f
			break
		}
	}
	if weights == "" {
		return fmt.Errorf("fetch %s@%s: repository has no model.safetensors or pytorch_model.bin", repo, revision)
	}
	files = append(files, weights)

	for _, f := range files {
		if err := c.download(ctx, commit, f, destDir); err != nil {
			return fmt.Errorf("fetch %s@%s: %w", repo, revision, err)
		}
	}
	if strings.HasSuffix(weights, ".index.json") {
		shards, err := shardFiles(filepath.Join(destDir, weights), listed)
		if err != nil {
			return fmt.Errorf("fetch %s@%s: %w", repo, revision, err)
		}
		for _, f := range shards {
			if err := c.download(ctx, commit, f, destDir); err != nil {
				return fmt.Errorf("fetch %s@%s: %w", repo, revision, err)
			}
		}
	}
	return nil
}

// shardFiles returns the distinct shards an index's weight_map names. Each must be listed in
// the repository: the index comes from the network and must not pick paths on this machine.
func shardFiles(indexPath string, listed map[string]bool) ([]string, error) {
	b, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, err
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(indexPath), err)
	}
	var shards []string
	for _, shard := range index.WeightMap {
		if !listed[shard] || !filepath.IsLocal(shard) {
			return nil, fmt.Errorf("%s: field weight_map: shard %q is not a file of the repository", filepath.Base(indexPath), shard)
		}
		if !slices.Contains(shards, shard) {
			shards = append(shards, shard)
		}
	}
	if len(shards) == 0 {
		return nil, fmt.Errorf("%s: field weight_map: empty", filepath.Base(indexPath))
	}
	slices.Sort(shards)
	return shards, nil
}

// client holds what every request of one Fetch shares.
type client struct {
	http     *http.Client
	endpoint string
	repo     string
	token    string
	progress func(file string, done, total int64)
}

func newClient(repo string, opts Options) (*client, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") || owner == ".." || name == ".." {
		return nil, fmt.Errorf("fetch %q: repository must be owner/name", repo)
	}
	c := &client{
		http:     opts.Client,
		endpoint: opts.Endpoint,
		repo:     url.PathEscape(owner) + "/" + url.PathEscape(name),
		token:    opts.Token,
		progress: opts.Progress,
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.endpoint == "" {
		c.endpoint = os.Getenv("HF_ENDPOINT")
	}
	if c.endpoint == "" {
		c.endpoint = DefaultEndpoint
	}
	c.endpoint = strings.TrimSuffix(c.endpoint, "/")
	if c.token == "" {
		c.token = os.Getenv("HF_TOKEN")
	}
	return c, nil
}

func (c *client) info(ctx context.Context, revision string) (*repoInfo, error) {
	u := c.endpoint + "/api/models/" + c.repo + "/revision/" + url.PathEscape(revision)
	resp, err := c.get(ctx, u, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("list repository: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("list repository: %w", c.statusError(u, resp))
	}
	var info repoInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&info); err != nil {
		return nil, fmt.Errorf("list repository: %s: %w", u, err)
	}
	return &info, nil
}

// get sends a GET with the token and any extra headers. onRedirect sees every redirect
// response before it is followed, which is where the Hub puts an LFS file's checksum.
func (c *client) get(ctx context.Context, u string, header http.Header, onRedirect func(*http.Response)) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "sbmoe-hub/1")
	if c.token != "" {
		// net/http drops this header on redirects to other hosts (the Hub's CDN).
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := c.http
	if onRedirect != nil {
		copied := *c.http
		base := c.http.CheckRedirect
		copied.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if req.Response != nil {
				onRedirect(req.Response)
			}
			if base != nil {
				return base(req, via)
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		}
		hc = &copied
	}
	return hc.Do(req)
}

// statusError explains an unexpected HTTP status in terms of what the user can do about it.
func (c *client) statusError(u string, resp *http.Response) error {
	detail := resp.Header.Get("X-Error-Message")
	if detail != "" {
		detail = " (" + detail + ")"
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		hint := "the repository may be gated or private, or may not exist: set HF_TOKEN to a token with access"
		if c.token != "" {
			hint = "the token in use (HF_TOKEN) has no access; for a gated model, accept its terms on the Hub"
		}
		return fmt.Errorf("%s: %s%s: %s", u, resp.Status, detail, hint)
	case http.StatusNotFound:
		return fmt.Errorf("%s: %s%s: repository, revision or file not found", u, resp.Status, detail)
	}
	return fmt.Errorf("%s: unexpected status %s%s", u, resp.Status, detail)
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
