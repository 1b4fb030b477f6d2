package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path"
	"strings"
)

// storageRef is a storage named by a pickle's persistent id; its bytes live outside the pickle.
type storageRef struct {
	key   string
	dtype dtype
	numel int
}

// pickledTensor is a call of torch._utils._rebuild_tensor_v2 as the pickle makes it. Its size
// and stride stay tuples until materialize turns them into a view, once per pickledTensor
// however often the pickle refers to it, so that repeating one call costs a pickle no more
// memory than the bytes of the repetition.
type pickledTensor struct {
	storage      *storageRef
	offset       int
	size, stride pyTuple
}

// tensorRef is what torch._utils._rebuild_tensor_v2 describes: a strided view into a storage.
type tensorRef struct {
	storage *storageRef
	offset  int
	shape   []int
	stride  []int
}

// ReadPyTorch reads a state dict saved by torch.save (pytorch_model.bin), in the zip format of
// torch ≥ 1.6 or the older stream of pickles. Only tensors are accepted as values; tensors
// that share a whole storage in the checkpoint (tied weights) share Data in the Set.
//
// Memory is bounded by the file: zip records together may hold no more bytes than the file
// and their CRC-32 must match, the pickle is read by this package's own unpickler (see
// pickle.go), which checks every declared length against the bytes left, each storage holds
// no more bytes than its record, and views copied out of storages may total no more
// elements than the storages hold.
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
		return readTorchLegacy(newPickleInput(io.NewSectionReader(r, 0, size), size))
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
	budget := size // bytes the records read may still hold: see readRecord
	if rec, ok := records[root+"byteorder"]; ok {
		if rec.UncompressedSize64 > 16 {
			return nil, fmt.Errorf("record %s: %d bytes, want \"little\"", rec.Name, rec.UncompressedSize64)
		}
		order, err := readRecord(rec, &budget)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", rec.Name, err)
		}
		if string(order) != "little" {
			return nil, fmt.Errorf("record %s: byte order %q is not supported", rec.Name, order)
		}
	}
	pkl, err := readRecord(records[root+"data.pkl"], &budget)
	if err != nil {
		return nil, fmt.Errorf("record %sdata.pkl: %w", root, err)
	}

	storages := make(map[string]*storageRef)
	u := unpickler{
		in:     newPickleInput(bytes.NewReader(pkl), int64(len(pkl))),
		global: torchClass,
		persistentLoad: func(id any) (any, error) {
			t, ok := id.(pyTuple)
			if !ok || len(t) != 5 || t[0] != "storage" {
				return nil, fmt.Errorf("persistent id is %s, want (\"storage\", class, key, location, numel)", pyType(id))
			}
			return lookupStorage(storages, t[1], t[2], t[4], size)
		},
	}
	obj, err := u.load()
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
		b, err := readRecord(rec, &budget)
		if err != nil {
			return nil, fmt.Errorf("storage %s: record %s: %w", st.key, name, err)
		}
		return b, nil
	}
	return materialize(obj, load)
}

// readRecord reads a whole zip record and checks its CRC-32. The records read may together
// hold no more bytes than the file: *budget starts at the file size and counts down. Stored
// records cannot break that rule unless the directory lists one record under several
// names, and a compressed record may not inflate past it, so neither a forged directory
// nor a zip bomb can drive an allocation beyond the file's size.
func readRecord(f *zip.File, budget *int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(*budget) {
		return nil, fmt.Errorf("record claims %d bytes, more than the %d the file has left for its records", f.UncompressedSize64, *budget)
	}
	*budget -= int64(f.UncompressedSize64)
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, err
	}
	// Reading on to the end makes archive/zip compare the checksum.
	var one [1]byte
	if _, err := io.ReadFull(rc, one[:]); err != io.EOF {
		if err == nil {
			err = errors.New("record holds more bytes than its header says")
		}
		return nil, err
	}
	return b, nil
}

// legacyMagic is the number torch.save wrote first in the pre-1.6 format.
const legacyMagic = "1950a86a20f9469cfc6c"

// readTorchLegacy reads the pre-1.6 format: pickled magic number, protocol version and system
// info, the pickled object, a pickled list of storage keys, then for each key its element count
// (int64, little-endian) and raw data.
func readTorchLegacy(in *pickleInput) (Set, error) {
	header := []string{"magic number", "protocol version", "system info"}
	for i, what := range header {
		u := unpickler{in: in, global: torchClass}
		v, err := u.load()
		if err != nil {
			return nil, fmt.Errorf("legacy format: %s: %w", what, err)
		}
		if i == 0 {
			if n, ok := v.(*big.Int); !ok || n.Text(16) != legacyMagic {
				return nil, fmt.Errorf("legacy format: bad magic number (%s)", pyType(v))
			}
		}
	}
	storages := make(map[string]*storageRef)
	u := unpickler{
		in:     in,
		global: torchClass,
		persistentLoad: func(id any) (any, error) {
			t, ok := id.(pyTuple)
			if !ok || len(t) != 6 || t[0] != "storage" {
				return nil, fmt.Errorf("persistent id is %s, want (\"storage\", class, key, location, numel, view)", pyType(id))
			}
			if t[5] != nil {
				return nil, errors.New("storage views of the legacy format are not supported")
			}
			return lookupStorage(storages, t[1], t[2], t[4], in.left)
		},
	}
	obj, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("legacy format: %w", err)
	}
	u = unpickler{in: in, global: torchClass}
	keysObj, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("legacy format: storage keys: %w", err)
	}
	keys, ok := keysObj.(*pyList)
	if !ok {
		return nil, fmt.Errorf("legacy format: storage keys: got %s, want a list", pyType(keysObj))
	}
	data := make(map[string][]byte)
	for i, k := range keys.items {
		key, _ := k.(string)
		st, ok := storages[key]
		if !ok {
			return nil, fmt.Errorf("legacy format: storage key %d (%s): not referenced by any tensor", i, pyType(k))
		}
		if _, dup := data[key]; dup {
			return nil, fmt.Errorf("legacy format: storage %s: listed twice", key)
		}
		b, err := in.fixed(8)
		if err != nil {
			return nil, fmt.Errorf("legacy format: storage %s: element count: %w", key, err)
		}
		if count := int64(binary.LittleEndian.Uint64(b)); count != int64(st.numel) {
			return nil, fmt.Errorf("legacy format: storage %s: %d elements on disk, %d in the pickle", key, count, st.numel)
		}
		if data[key], err = in.take(uint64(st.numel) * uint64(st.dtype.size)); err != nil {
			return nil, fmt.Errorf("legacy format: storage %s: %w", key, err)
		}
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
		return nil, fmt.Errorf("storage: bad persistent id (class %s, key %s, numel %s)", pyType(class), pyType(key), pyType(numel))
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
	qualified := module + "." + name
	callable := func(call func(pyTuple) (any, error)) (any, error) {
		return &pyCallable{name: qualified, call: call}, nil
	}
	switch qualified {
	case "collections.OrderedDict":
		return callable(func(args pyTuple) (any, error) {
			if len(args) != 0 {
				return nil, fmt.Errorf("OrderedDict: %d arguments, want none", len(args))
			}
			return &pyDict{}, nil
		})
	case "torch._utils._rebuild_tensor_v2":
		return callable(rebuildTensor)
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return callable(func(args pyTuple) (any, error) {
			if len(args) < 1 {
				return nil, errors.New("_rebuild_parameter: no arguments")
			}
			return args[0], nil
		})
	case rebuildFromTypeName:
		return callable(rebuildFromType)
	case "torch.nn.parameter.Parameter":
		return tensorType{}, nil
	}
	return nil, fmt.Errorf("unsupported pickled class %s.%s", module, name)
}

// rebuildTensor mirrors torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
// requires_grad, backward_hooks[, metadata]).
func rebuildTensor(args pyTuple) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments, want at least 4", len(args))
	}
	st, ok1 := args[0].(*storageRef)
	offset, ok2 := args[1].(int)
	size, ok3 := args[2].(pyTuple)
	stride, ok4 := args[3].(pyTuple)
	if !ok1 || !ok2 || !ok3 || !ok4 || !isIntTuple(size) || !isIntTuple(stride) {
		return nil, fmt.Errorf("_rebuild_tensor_v2: arguments are %s, %s, %s, %s; want a storage, an offset and two tuples of at most %d ints",
			pyType(args[0]), pyType(args[1]), pyType(args[2]), pyType(args[3]), maxRank)
	}
	return &pickledTensor{storage: st, offset: offset, size: size, stride: stride}, nil
}

const rebuildFromTypeName = "torch._tensor._rebuild_from_type_v2"

// rebuildFromType mirrors torch._tensor._rebuild_from_type_v2(func, new_type, args, state),
// which torch uses for Parameters and tensors carrying Python attributes. func may not be
// rebuildFromType itself: torch never nests it, and a pickle nesting it a million times
// deep would recurse as deep.
func rebuildFromType(args pyTuple) (any, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("_rebuild_from_type_v2: %d arguments, want 4", len(args))
	}
	fn, ok1 := args[0].(*pyCallable)
	_, ok2 := args[1].(tensorType)
	fnArgs, ok3 := args[2].(pyTuple)
	if !ok1 || !ok2 || !ok3 || fn.name == rebuildFromTypeName {
		return nil, fmt.Errorf("_rebuild_from_type_v2: arguments are %s, %s, %s; want a callable other than itself, a tensor type and a tuple",
			pyType(args[0]), pyType(args[1]), pyType(args[2]))
	}
	return fn.call(fnArgs)
}

func isIntTuple(t pyTuple) bool {
	if len(t) > maxRank {
		return false
	}
	for _, v := range t {
		if _, ok := v.(int); !ok {
			return false
		}
	}
	return true
}

func ints(t pyTuple) []int {
	out := make([]int, len(t))
	for i, v := range t {
		out[i] = v.(int)
	}
	return out
}

// maxViewCopies bounds the views copied out of storages: together they may hold at most
// this many times the elements of the storages loaded. Transposed or sliced copies beside
// the whole tensor fit; a pickle repeating an overlapping view of one storage does not.
const maxViewCopies = 2

// materialize turns the unpickled state dict into a Set, loading each storage once. A view
// that is its whole storage in row-major order takes the decoded storage as its Data; any
// other view is copied out in row-major order, within maxViewCopies, so that views
// overlapping one storage many times cannot multiply the memory a file drives.
func materialize(obj any, load func(*storageRef) ([]byte, error)) (Set, error) {
	d, ok := obj.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("checkpoint holds %s, want a state dict", pyType(obj))
	}
	type loaded struct {
		values  []float32
		checked bool // values were checked for NaN and infinity
	}
	storages := make(map[*storageRef]*loaded)
	tensors := make(map[*pickledTensor]*Tensor) // a tensor the dict lists under several names is built once
	copyBudget := 0
	s := make(Set, len(d.entries))
	for _, e := range d.entries {
		name, ok := e.key.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key is %s, not a str", pyType(e.key))
		}
		if _, dup := s[name]; dup {
			return nil, fmt.Errorf("tensor %s: listed twice", name)
		}
		pt, ok := e.value.(*pickledTensor)
		if !ok {
			return nil, fmt.Errorf("tensor %s: value is %s, not a tensor", name, pyType(e.value))
		}
		if t, ok := tensors[pt]; ok {
			s[name] = &Tensor{Name: name, Shape: t.Shape, Data: t.Data}
			continue
		}
		view := tensorRef{storage: pt.storage, offset: pt.offset, shape: ints(pt.size), stride: ints(pt.stride)}
		if err := view.check(); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		st := storages[view.storage]
		if st == nil {
			raw, err := load(view.storage)
			if err != nil {
				return nil, fmt.Errorf("tensor %s: %w", name, err)
			}
			st = &loaded{values: make([]float32, view.storage.numel)}
			view.storage.dtype.decode(st.values, raw)
			storages[view.storage] = st
			copyBudget += maxViewCopies * view.storage.numel
		}
		var data []float32
		if view.coversStorage() {
			data = st.values // tied tensors share it, as they share the storage in PyTorch
			if !st.checked {
				if err := checkFinite(data); err != nil {
					return nil, fmt.Errorf("tensor %s: %w", name, err)
				}
				st.checked = true
			}
		} else {
			n, _ := numElements(view.shape, view.storage.numel)
			if n > copyBudget {
				return nil, fmt.Errorf("tensor %s: views copy more elements out of their storages than the storages hold", name)
			}
			copyBudget -= n
			data = view.gather(st.values)
			if err := checkFinite(data); err != nil {
				return nil, fmt.Errorf("tensor %s: %w", name, err)
			}
		}
		t := &Tensor{Name: name, Shape: view.shape, Data: data}
		tensors[pt] = t
		s[name] = t
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
