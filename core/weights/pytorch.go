package weights

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// storageRef is a storage named by a pickle's persistent id; its bytes live outside the pickle.
type storageRef struct {
	key   string
	dtype dtype
	numel int
}

// tensorRef is what torch._utils._rebuild_tensor_v2 describes: a strided view into a storage.
type tensorRef struct {
	storage *storageRef
	offset  int
	shape   []int
	stride  []int
}

// ReadPyTorch reads a state dict saved by torch.save (pytorch_model.bin), in the zip format of
// torch ≥ 1.6 or the older stream of pickles. Only tensors are accepted as values.
func ReadPyTorch(path string) (Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read pytorch checkpoint: %w", err)
	}
	defer f.Close()
	return readPyTorchFile(f, path)
}

// readPyTorch tells the two torch.save formats apart by their first bytes.
func readPyTorch(r io.ReaderAt, size int64) (Set, error) {
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		return nil, fmt.Errorf("too short for a pytorch checkpoint: %w", err)
	}
	switch {
	case string(magic[:]) == "PK\x03\x04":
		return readTorchZip(r, size)
	case magic[0] == 0x80: // pickle PROTO opcode: the pre-1.6 format starts with a pickled magic number
		return readTorchLegacy(bufio.NewReader(io.NewSectionReader(r, 0, size)), size)
	}
	return nil, errors.New("not a torch.save file (neither a zip archive nor a pickle); tar checkpoints of torch < 0.4 are not supported")
}

// readTorchZip reads the torch ≥ 1.6 format: "<root>/data.pkl" plus one uncompressed record
// "<root>/data/<key>" per storage, where <root> is chosen by the writer.
func readTorchZip(r io.ReaderAt, size int64) (Set, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("open zip: %w", err)
	}
	records := make(map[string]*zip.File, len(zr.File))
	var root string
	for _, f := range zr.File {
		records[f.Name] = f
		if dir, file := path.Split(f.Name); file == "data.pkl" && strings.Count(dir, "/") == 1 {
			root = dir
		}
	}
	if root == "" {
		return nil, errors.New("zip has no <root>/data.pkl record")
	}
	if _, ok := records[root+"constants.pkl"]; ok {
		return nil, errors.New("TorchScript archives are not supported; save the state_dict with torch.save")
	}
	if rec, ok := records[root+"byteorder"]; ok {
		order, err := readRecord(rec, 16)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", rec.Name, err)
		}
		if string(order) != "little" {
			return nil, fmt.Errorf("record %s: byte order %q is not supported", rec.Name, order)
		}
	}
	pkl, err := readRecord(records[root+"data.pkl"], size)
	if err != nil {
		return nil, fmt.Errorf("record %sdata.pkl: %w", root, err)
	}

	storages := make(map[string]*storageRef)
	persistentLoad := func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() != 5 || t.Get(0) != "storage" {
			return nil, fmt.Errorf("persistent id %v: want (\"storage\", class, key, location, numel)", id)
		}
		return lookupStorage(storages, t.Get(1), t.Get(2), t.Get(4), size)
	}
	obj, err := unpickle(bytes.NewReader(pkl), persistentLoad)
	if err != nil {
		return nil, fmt.Errorf("record %sdata.pkl: %w", root, err)
	}
	load := func(st *storageRef) ([]byte, error) {
		name := root + "data/" + st.key
		rec, ok := records[name]
		if !ok {
			return nil, fmt.Errorf("storage %s: record %s missing", st.key, name)
		}
		want := uint64(st.numel) * uint64(st.dtype.size)
		if rec.UncompressedSize64 != want {
			return nil, fmt.Errorf("storage %s: record %s holds %d bytes, want %d for %d %s elements",
				st.key, name, rec.UncompressedSize64, want, st.numel, st.dtype.name)
		}
		return readRecord(rec, size)
	}
	return materialize(obj, load)
}

// readRecord reads a whole zip record, refusing records that claim more than limit bytes so a
// forged directory cannot trigger a huge allocation.
func readRecord(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("record claims %d bytes, more than the %d-byte file", f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, err
	}
	return b, nil
}

// legacyMagic is the number torch.save wrote first in the pre-1.6 format.
const legacyMagic = "1950a86a20f9469cfc6c"

// readTorchLegacy reads the pre-1.6 format: pickled magic number, protocol version and system
// info, the pickled object, a pickled list of storage keys, then for each key its element count
// (int64, little-endian) and raw data.
func readTorchLegacy(r *bufio.Reader, size int64) (Set, error) {
	header := []string{"magic number", "protocol version", "system info"}
	for i, what := range header {
		v, err := unpickle(r, nil)
		if err != nil {
			return nil, fmt.Errorf("legacy format: %s: %w", what, err)
		}
		if i == 0 {
			if n, ok := v.(*big.Int); !ok || n.Text(16) != legacyMagic {
				return nil, fmt.Errorf("legacy format: bad magic number %v", v)
			}
		}
	}
	storages := make(map[string]*storageRef)
	persistentLoad := func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() != 6 || t.Get(0) != "storage" {
			return nil, fmt.Errorf("persistent id %v: want (\"storage\", class, key, location, numel, view)", id)
		}
		if t.Get(5) != nil {
			return nil, fmt.Errorf("storage %v: storage views of the legacy format are not supported", t.Get(2))
		}
		return lookupStorage(storages, t.Get(1), t.Get(2), t.Get(4), size)
	}
	obj, err := unpickle(r, persistentLoad)
	if err != nil {
		return nil, fmt.Errorf("legacy format: %w", err)
	}
	keysObj, err := unpickle(r, nil)
	if err != nil {
		return nil, fmt.Errorf("legacy format: storage keys: %w", err)
	}
	keys, ok := keysObj.(*types.List)
	if !ok {
		return nil, fmt.Errorf("legacy format: storage keys: got %T, want a list", keysObj)
	}
	data := make(map[string][]byte, len(*keys))
	remaining := size
	for _, k := range *keys {
		key, _ := k.(string)
		st, ok := storages[key]
		if !ok {
			return nil, fmt.Errorf("legacy format: storage %v: not referenced by any tensor", k)
		}
		var count int64
		if err := binary.Read(r, binary.LittleEndian, &count); err != nil {
			return nil, fmt.Errorf("legacy format: storage %s: %w", key, err)
		}
		nbytes := count * int64(st.dtype.size)
		if count != int64(st.numel) || nbytes > remaining {
			return nil, fmt.Errorf("legacy format: storage %s: %d elements on disk, %d in the pickle", key, count, st.numel)
		}
		remaining -= nbytes
		b := make([]byte, nbytes)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("legacy format: storage %s: %w", key, err)
		}
		data[key] = b
	}
	load := func(st *storageRef) ([]byte, error) {
		b, ok := data[st.key]
		if !ok {
			return nil, fmt.Errorf("storage %s: no data after the pickle", st.key)
		}
		return b, nil
	}
	return materialize(obj, load)
}

// lookupStorage returns the one storageRef for a key, so tensors sharing a storage share it.
// A storage cannot hold more bytes than the file, which bounds every later allocation.
func lookupStorage(storages map[string]*storageRef, class, key, numel any, fileSize int64) (*storageRef, error) {
	dt, ok := class.(dtype)
	k, keyOK := key.(string)
	n, numelOK := numel.(int)
	if !ok || !keyOK || !numelOK || n < 0 || int64(n) > fileSize/int64(dt.size) {
		return nil, fmt.Errorf("storage %v: bad persistent id (class %v, numel %v)", key, class, numel)
	}
	if st, ok := storages[k]; ok {
		if st.dtype.name != dt.name || st.numel != n {
			return nil, fmt.Errorf("storage %s: referenced with two different types or sizes", k)
		}
		return st, nil
	}
	st := &storageRef{key: k, dtype: dt, numel: n}
	storages[k] = st
	return st, nil
}

// unpickle runs gopickle with torch's classes resolved by torchClass. gopickle trusts lengths
// and indexes in its input, so a malformed pickle can make it panic; that is turned into an
// error here, because a corrupt checkpoint is bad input, not a programming error.
func unpickle(r io.Reader, persistentLoad func(any) (any, error)) (obj any, err error) {
	defer func() {
		if p := recover(); p != nil {
			obj, err = nil, fmt.Errorf("malformed pickle: %v", p)
		}
	}()
	u := pickle.NewUnpickler(r)
	u.FindClass = torchClass
	u.PersistentLoad = persistentLoad
	return u.Load()
}

// callable adapts a Go function to a pickled Python callable.
type callable func(args ...any) (any, error)

func (c callable) Call(args ...any) (any, error) { return c(args...) }

// tensorType stands for torch.Tensor and torch.nn.Parameter when a pickle names them as the
// type of a rebuilt tensor; both load as plain tensors.
type tensorType struct{}

// torchClass resolves the globals a state-dict pickle may name. Anything else is refused, so an
// unexpected object fails with its class name instead of loading as something meaningless.
func torchClass(module, name string) (any, error) {
	if module == "torch" {
		if dt, ok := torchStorageDtypes[name]; ok {
			return dtypes[dt], nil
		}
		if name == "Tensor" {
			return tensorType{}, nil
		}
	}
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2":
		return callable(rebuildTensor), nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return callable(func(args ...any) (any, error) {
			if len(args) < 1 {
				return nil, errors.New("_rebuild_parameter: no arguments")
			}
			return args[0], nil
		}), nil
	case "torch._tensor._rebuild_from_type_v2":
		return callable(rebuildFromType), nil
	case "torch.nn.parameter.Parameter":
		return tensorType{}, nil
	}
	return nil, fmt.Errorf("unsupported pickled class %s.%s", module, name)
}

// rebuildTensor mirrors torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
// requires_grad, backward_hooks[, metadata]).
func rebuildTensor(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments, want at least 4", len(args))
	}
	st, ok1 := args[0].(*storageRef)
	offset, ok2 := args[1].(int)
	shape, ok3 := intTuple(args[2])
	stride, ok4 := intTuple(args[3])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: unexpected arguments %v", args[:4])
	}
	return &tensorRef{storage: st, offset: offset, shape: shape, stride: stride}, nil
}

// rebuildFromType mirrors torch._tensor._rebuild_from_type_v2(func, new_type, args, state),
// which torch uses for Parameters and tensors carrying Python attributes.
func rebuildFromType(args ...any) (any, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("_rebuild_from_type_v2: %d arguments, want 4", len(args))
	}
	fn, ok1 := args[0].(types.Callable)
	_, ok2 := args[1].(tensorType)
	fnArgs, ok3 := args[2].(*types.Tuple)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("_rebuild_from_type_v2: unexpected arguments %v", args[:3])
	}
	return fn.Call(*fnArgs...)
}

func intTuple(v any) ([]int, bool) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, false
	}
	out := make([]int, t.Len())
	for i := range out {
		if out[i], ok = t.Get(i).(int); !ok {
			return nil, false
		}
	}
	return out, true
}

// materialize turns the unpickled state dict into a Set, loading each storage once and copying
// each view out in row-major order.
func materialize(obj any, load func(*storageRef) ([]byte, error)) (Set, error) {
	var entries []types.DictEntry
	switch d := obj.(type) {
	case *types.Dict:
		entries = *d
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			oe := e.Value.(*types.OrderedDictEntry)
			entries = append(entries, types.DictEntry{Key: oe.Key, Value: oe.Value})
		}
	default:
		return nil, fmt.Errorf("checkpoint holds %T, want a state dict", obj)
	}

	refs := make(map[*storageRef]int)
	views := make([]*tensorRef, len(entries))
	names := make([]string, len(entries))
	seen := make(map[string]bool, len(entries))
	for i, e := range entries {
		name, ok := e.Key.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key %v is not a string", e.Key)
		}
		view, ok := e.Value.(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("tensor %s: value is %T, not a tensor", name, e.Value)
		}
		if seen[name] {
			return nil, fmt.Errorf("tensor %s: listed twice", name)
		}
		seen[name] = true
		names[i], views[i] = name, view
		refs[view.storage]++
	}

	decoded := make(map[*storageRef][]float32)
	s := make(Set, len(entries))
	for i, view := range views {
		name, st := names[i], view.storage
		if err := view.check(); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		values, ok := decoded[st]
		if !ok {
			raw, err := load(st)
			if err != nil {
				return nil, fmt.Errorf("tensor %s: %w", name, err)
			}
			values = make([]float32, st.numel)
			st.dtype.decode(values, raw)
			decoded[st] = values
		}
		var data []float32
		if refs[st] == 1 && view.coversStorage() {
			data = values // sole owner of the whole storage: no copy needed
		} else {
			data = view.gather(values)
		}
		if err := checkFinite(data); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		s[name] = &Tensor{Name: name, Shape: view.shape, Data: data}
	}
	return s, nil
}

// check bounds the view by its storage. A view may not have more elements than its storage:
// that holds for every slice, transpose and narrow, and rules out only expand()ed tensors, which
// state dicts do not contain, while capping what a forged pickle can make us allocate.
func (v *tensorRef) check() error {
	if len(v.shape) != len(v.stride) {
		return fmt.Errorf("shape %v and stride %v differ in length", v.shape, v.stride)
	}
	n, ok := numElements(v.shape, v.storage.numel)
	if !ok {
		return fmt.Errorf("shape %v is larger than its storage of %d elements", v.shape, v.storage.numel)
	}
	if n == 0 {
		return nil
	}
	// last is the storage index of the view's last element; each step is checked before it is
	// taken, so forged strides cannot overflow it.
	last := v.offset
	for i, d := range v.shape {
		if last < 0 || last >= v.storage.numel || v.stride[i] < 0 ||
			(d > 1 && v.stride[i] > (v.storage.numel-1-last)/(d-1)) {
			return fmt.Errorf("view (offset %d, shape %v, stride %v) reaches past its storage of %d elements",
				v.offset, v.shape, v.stride, v.storage.numel)
		}
		last += (d - 1) * v.stride[i]
	}
	if last < 0 || last >= v.storage.numel {
		return fmt.Errorf("view (offset %d, shape %v, stride %v) reaches past its storage of %d elements",
			v.offset, v.shape, v.stride, v.storage.numel)
	}
	return nil
}

// coversStorage reports whether the view is the whole storage in row-major order.
func (v *tensorRef) coversStorage() bool {
	n, _ := numElements(v.shape, v.storage.numel)
	return v.offset == 0 && n == v.storage.numel && v.rowMajor()
}

func (v *tensorRef) rowMajor() bool {
	want := 1
	for i := len(v.shape) - 1; i >= 0; i-- {
		if v.shape[i] != 1 && v.stride[i] != want {
			return false
		}
		want *= v.shape[i]
	}
	return true
}

// gather copies the view out of its storage in row-major order.
func (v *tensorRef) gather(storage []float32) []float32 {
	n, _ := numElements(v.shape, v.storage.numel)
	out := make([]float32, n)
	if n == 0 {
		return out
	}
	if v.rowMajor() {
		copy(out, storage[v.offset:v.offset+n])
		return out
	}
	idx := make([]int, len(v.shape))
	pos := v.offset
	for i := range out {
		out[i] = storage[pos]
		// Advance the multi-index like an odometer, keeping pos in step.
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			pos += v.stride[d]
			if idx[d] < v.shape[d] {
				break
			}
			pos -= idx[d] * v.stride[d]
			idx[d] = 0
		}
	}
	return out
}
