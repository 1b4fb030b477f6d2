package weights

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// This file is the unpickler of ReadPyTorch: the part of Python's pickle machine that a
// state dict saved by torch.save needs (protocols 1 to 5), written so that a hostile
// pickle cannot make it allocate more than its own size or do more than linear work.
// Every length an opcode declares is checked against the bytes the input still holds
// before anything is allocated; every opcode does constant work, except that those
// consuming a MARK touch each item once; BUILD's state is dropped rather than applied;
// integers are at most maxLongBytes long, text lines at most maxPickleLine, the stack at
// most maxStack values.

// Pickle values are nil, bool, int, *big.Int (beyond int64), float64, string, []byte,
// pyTuple, *pyList, *pyDict, and what the resolver of globals and the persistent loader
// return (storage types, callables, storages).
type (
	pyTuple []any
	pyList  struct{ items []any }
	// pyDict keeps entries in insertion order and does not hash keys, so a key of any type
	// is accepted; a key set twice is listed twice (materialize refuses that).
	pyDict struct{ entries []pyEntry }
	// pyCallable is a Python callable, by its qualified name, that REDUCE may apply to an
	// argument tuple.
	pyCallable struct {
		name string
		call func(args pyTuple) (any, error)
	}
)

type pyEntry struct{ key, value any }

const (
	// maxLongBytes bounds the integers of LONG1 and LONG4, and 3·maxLongBytes the decimal
	// digits of LONG and INT: a state dict holds sizes, offsets and torch's magic number,
	// nothing near this long, and big.Int's decimal parsing is quadratic.
	maxLongBytes = 64
	// maxPickleLine bounds the text lines of GLOBAL, INT, LONG, FLOAT, GET and PUT.
	maxPickleLine = 1024
	// maxRank bounds a tensor's dimensions (PyTorch state dicts have at most 5).
	maxRank = 32
	// maxStack bounds the values on the stack, MARKs included: Python's pickler writes a
	// dict's or a list's items in batches of 1000, so a state dict needs a few thousand,
	// and a writer that does not batch fits a dict of 32768 tensors.
	maxStack = 1 << 16
	// memoChunk is the length of the memo's chunks: the memo grows by whole chunks and never
	// copies itself, so a MEMOIZE costs its 16 bytes and no more.
	memoChunk = 256
)

// pickleInput is the stream pickles are read from, shared by the successive pickles of
// the legacy format and the raw storages that follow them. left is how many bytes it still
// holds: no declared length may exceed it.
type pickleInput struct {
	r    *bufio.Reader
	left int64
	off  int64 // bytes consumed so far, for error positions
	buf  [8]byte
}

func newPickleInput(r io.Reader, size int64) *pickleInput {
	return &pickleInput{r: bufio.NewReaderSize(r, 4096), left: size}
}

var errPickleEnd = errors.New("input ends before the pickle's STOP opcode")

func (in *pickleInput) readByte() (byte, error) {
	if in.left <= 0 {
		return 0, errPickleEnd
	}
	b, err := in.r.ReadByte()
	if err != nil {
		return 0, ioError(err)
	}
	in.left--
	in.off++
	return b, nil
}

// fixed reads n ≤ 8 bytes into a scratch buffer valid until the next read.
func (in *pickleInput) fixed(n int) ([]byte, error) {
	if int64(n) > in.left {
		return nil, errPickleEnd
	}
	b := in.buf[:n]
	if _, err := io.ReadFull(in.r, b); err != nil {
		return nil, ioError(err)
	}
	in.left -= int64(n)
	in.off += int64(n)
	return b, nil
}

// take reads n bytes into a new slice, after checking that the input holds them.
func (in *pickleInput) take(n uint64) ([]byte, error) {
	if n > uint64(in.left) {
		return nil, fmt.Errorf("length %d runs past the end of the input (%d bytes left)", n, in.left)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(in.r, b); err != nil {
		return nil, ioError(err)
	}
	in.left -= int64(n)
	in.off += int64(n)
	return b, nil
}

// line reads a text argument up to its newline, which it drops.
func (in *pickleInput) line() (string, error) {
	var sb strings.Builder
	for {
		b, err := in.readByte()
		if err != nil {
			return "", err
		}
		if b == '\n' {
			return sb.String(), nil
		}
		if sb.Len() == maxPickleLine {
			return "", fmt.Errorf("text argument longer than %d bytes", maxPickleLine)
		}
		sb.WriteByte(b)
	}
}

func ioError(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// unpickler runs one pickle. global resolves GLOBAL and STACK_GLOBAL; persistentLoad, when
// set, resolves BINPERSID.
type unpickler struct {
	in             *pickleInput
	global         func(module, name string) (any, error)
	persistentLoad func(pid any) (any, error)

	stack []any
	marks []int // stack heights at each open MARK
	// memo holds entries 0, 1, 2, ... (Python's picklers number them so) in chunks of
	// memoChunk; memoLen counts them.
	memo    [][]any
	memoLen uint64
}

// load runs the pickle to its STOP opcode and returns the value it built. Errors give the
// opcode and its byte offset in the input.
func (u *unpickler) load() (any, error) {
	for {
		at := u.in.off
		if len(u.stack)+len(u.marks) > maxStack {
			return nil, fmt.Errorf("pickle byte %d: %w", at, errStackFull)
		}
		op, err := u.in.readByte()
		if err != nil {
			return nil, fmt.Errorf("pickle byte %d: %w", at, err)
		}
		done, err := u.step(op)
		if err != nil {
			name := opName(op)
			if name == "" {
				name = fmt.Sprintf("0x%02x", op)
			}
			return nil, fmt.Errorf("pickle opcode %s at byte %d: %w", name, at, err)
		}
		if done {
			v, err := u.pop()
			if err != nil {
				return nil, fmt.Errorf("pickle opcode STOP at byte %d: %w", at, err)
			}
			return v, nil
		}
	}
}

var errStackFull = fmt.Errorf("more than %d values on the stack", maxStack)

// push adds v to the stack. A full stack is reported by the next step, so that push, which
// opcodes call once they have their value, needs no error of its own.
func (u *unpickler) push(v any) { u.stack = append(grow(u.stack, 1), v) }

// grow returns s with room for n more elements, doubling its capacity when it must grow.
// append grows a large slice by a quarter at a time, which allocates five times its final
// size on the way there; doubling allocates at most twice.
func grow[T any](s []T, n int) []T {
	if len(s)+n <= cap(s) {
		return s
	}
	bigger := make([]T, len(s), max(2*cap(s), len(s)+n, 8))
	copy(bigger, s)
	return bigger
}

// base is the bottom of the stack above the innermost MARK, which no opcode may pop past.
func (u *unpickler) base() int {
	if len(u.marks) == 0 {
		return 0
	}
	return u.marks[len(u.marks)-1]
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) <= u.base() {
		return nil, errors.New("stack is empty")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) <= u.base() {
		return nil, errors.New("stack is empty")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark removes the items above the innermost MARK and the MARK itself. The returned
// slice shares the stack's memory: copy it before pushing anything.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := u.stack[m:]
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) put(idx uint64) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	switch {
	case idx < u.memoLen:
		u.memo[idx/memoChunk][idx%memoChunk] = v
	case idx == u.memoLen:
		if idx%memoChunk == 0 {
			u.memo = append(u.memo, make([]any, 0, memoChunk))
		}
		last := len(u.memo) - 1
		u.memo[last] = append(u.memo[last], v)
		u.memoLen++
	default:
		return fmt.Errorf("memo index %d skips ahead of the %d entries so far", idx, u.memoLen)
	}
	return nil
}

func (u *unpickler) get(idx uint64) error {
	if idx >= u.memoLen {
		return fmt.Errorf("memo index %d is not set", idx)
	}
	u.push(u.memo[idx/memoChunk][idx%memoChunk])
	return nil
}

// step runs one opcode; done reports STOP.
func (u *unpickler) step(op byte) (done bool, err error) {
	in := u.in
	switch op {
	case '.': // STOP
		return true, nil
	case 0x80: // PROTO
		v, err := in.readByte()
		if err != nil {
			return false, err
		}
		if v > 5 {
			return false, fmt.Errorf("protocol %d is newer than 5", v)
		}
	case 0x95: // FRAME: a buffering hint; only its length is checked
		b, err := in.fixed(8)
		if err != nil {
			return false, err
		}
		if n := binary.LittleEndian.Uint64(b); n > uint64(in.left) {
			return false, fmt.Errorf("frame of %d bytes runs past the end of the input (%d bytes left)", n, in.left)
		}

	case '(': // MARK
		u.marks = append(grow(u.marks, 1), len(u.stack))
	case '0': // POP, which pops the MARK itself when nothing is above it
		if len(u.stack) > u.base() {
			_, err = u.pop()
		} else {
			_, err = u.popMark()
		}
		return false, err
	case '1': // POP_MARK
		_, err = u.popMark()
		return false, err
	case '2': // DUP
		v, err := u.top()
		if err != nil {
			return false, err
		}
		u.push(v)

	case 'N': // NONE
		u.push(nil)
	case 0x88: // NEWTRUE
		u.push(true)
	case 0x89: // NEWFALSE
		u.push(false)
	case 'K': // BININT1
		v, err := in.readByte()
		if err != nil {
			return false, err
		}
		u.push(int(v))
	case 'M': // BININT2
		b, err := in.fixed(2)
		if err != nil {
			return false, err
		}
		u.push(int(binary.LittleEndian.Uint16(b)))
	case 'J': // BININT
		b, err := in.fixed(4)
		if err != nil {
			return false, err
		}
		u.push(int(int32(binary.LittleEndian.Uint32(b))))
	case 0x8a: // LONG1
		n, err := in.readByte()
		if err != nil {
			return false, err
		}
		return false, u.long(uint64(n))
	case 0x8b: // LONG4
		b, err := in.fixed(4)
		if err != nil {
			return false, err
		}
		n := int32(binary.LittleEndian.Uint32(b))
		if n < 0 {
			return false, fmt.Errorf("negative length %d", n)
		}
		return false, u.long(uint64(n))
	case 'I', 'L': // INT, LONG: decimal text; protocol 1 writes booleans as INT 00 and 01
		s, err := in.line()
		if err != nil {
			return false, err
		}
		return false, u.decimal(op, s)
	case 'G': // BINFLOAT
		b, err := in.fixed(8)
		if err != nil {
			return false, err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'F': // FLOAT
		s, err := in.line()
		if err != nil {
			return false, err
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return false, fmt.Errorf("%q is not a float", s)
		}
		u.push(f)

	case 'X', 'T', 'B': // BINUNICODE, BINSTRING (Python 2's str), BINBYTES: 4-byte length
		b, err := in.fixed(4)
		if err != nil {
			return false, err
		}
		n := uint64(binary.LittleEndian.Uint32(b))
		if op == 'T' && int32(n) < 0 {
			return false, fmt.Errorf("negative length %d", int32(n))
		}
		return false, u.text(op, n)
	case 0x8c, 'U', 'C': // SHORT_BINUNICODE, SHORT_BINSTRING, SHORT_BINBYTES: 1-byte length
		n, err := in.readByte()
		if err != nil {
			return false, err
		}
		return false, u.text(op, uint64(n))
	case 0x8d, 0x8e, 0x96: // BINUNICODE8, BINBYTES8, BYTEARRAY8: 8-byte length
		b, err := in.fixed(8)
		if err != nil {
			return false, err
		}
		return false, u.text(op, binary.LittleEndian.Uint64(b))

	case ')': // EMPTY_TUPLE
		u.push(pyTuple(nil))
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		n := int(op - 0x84)
		if len(u.stack)-u.base() < n {
			return false, errors.New("stack is empty")
		}
		t := pyTuple(slices.Clone(u.stack[len(u.stack)-n:]))
		u.stack = u.stack[:len(u.stack)-n]
		u.push(t)
	case 't': // TUPLE
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(pyTuple(slices.Clone(items)))
	case ']': // EMPTY_LIST
		u.push(&pyList{})
	case 'l': // LIST
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(&pyList{items: slices.Clone(items)})
	case 'a', 'e': // APPEND, APPENDS
		var items []any
		if op == 'a' {
			v, err := u.pop()
			if err != nil {
				return false, err
			}
			items = []any{v}
		} else if items, err = u.popMark(); err != nil {
			return false, err
		}
		obj, err := u.top()
		if err != nil {
			return false, err
		}
		l, ok := obj.(*pyList)
		if !ok {
			return false, fmt.Errorf("appends to %s, not a list", pyType(obj))
		}
		l.items = append(grow(l.items, len(items)), items...)
	case '}': // EMPTY_DICT
		u.push(&pyDict{})
	case 'd': // DICT
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		d := &pyDict{}
		if err := d.setItems(items); err != nil {
			return false, err
		}
		u.push(d)
	case 's', 'u': // SETITEM, SETITEMS
		var items []any
		if op == 's' {
			if len(u.stack)-u.base() < 2 {
				return false, errors.New("stack is empty")
			}
			items = slices.Clone(u.stack[len(u.stack)-2:])
			u.stack = u.stack[:len(u.stack)-2]
		} else if items, err = u.popMark(); err != nil {
			return false, err
		}
		obj, err := u.top()
		if err != nil {
			return false, err
		}
		d, ok := obj.(*pyDict)
		if !ok {
			return false, fmt.Errorf("sets items of %s, not a dict", pyType(obj))
		}
		return false, d.setItems(items)

	case 'q': // BINPUT
		v, err := in.readByte()
		if err != nil {
			return false, err
		}
		return false, u.put(uint64(v))
	case 'r': // LONG_BINPUT
		b, err := in.fixed(4)
		if err != nil {
			return false, err
		}
		return false, u.put(uint64(binary.LittleEndian.Uint32(b)))
	case 0x94: // MEMOIZE
		return false, u.put(u.memoLen)
	case 'h': // BINGET
		v, err := in.readByte()
		if err != nil {
			return false, err
		}
		return false, u.get(uint64(v))
	case 'j': // LONG_BINGET
		b, err := in.fixed(4)
		if err != nil {
			return false, err
		}
		return false, u.get(uint64(binary.LittleEndian.Uint32(b)))
	case 'g', 'p': // GET, PUT: decimal text
		s, err := in.line()
		if err != nil {
			return false, err
		}
		idx, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return false, fmt.Errorf("memo index %q is not a number", s)
		}
		if op == 'g' {
			return false, u.get(idx)
		}
		return false, u.put(idx)

	case 'c': // GLOBAL: module and name as two text lines
		module, err := in.line()
		if err != nil {
			return false, err
		}
		name, err := in.line()
		if err != nil {
			return false, err
		}
		return false, u.resolve(module, name)
	case 0x93: // STACK_GLOBAL
		name, err1 := u.pop()
		module, err2 := u.pop()
		if err := errors.Join(err1, err2); err != nil {
			return false, err
		}
		m, ok1 := module.(string)
		n, ok2 := name.(string)
		if !ok1 || !ok2 {
			return false, fmt.Errorf("module and name are %s and %s, not strings", pyType(module), pyType(name))
		}
		return false, u.resolve(m, n)
	case 'R': // REDUCE
		args, err1 := u.pop()
		fn, err2 := u.pop()
		if err := errors.Join(err1, err2); err != nil {
			return false, err
		}
		call, ok1 := fn.(*pyCallable)
		t, ok2 := args.(pyTuple)
		if !ok1 || !ok2 {
			return false, fmt.Errorf("applies %s to %s, want a known callable and a tuple", pyType(fn), pyType(args))
		}
		v, err := call.call(t)
		if err != nil {
			return false, err
		}
		u.push(v)
	case 'b': // BUILD: only an OrderedDict's attributes (a state dict's _metadata) are expected
		state, err := u.pop()
		if err != nil {
			return false, err
		}
		obj, err := u.top()
		if err != nil {
			return false, err
		}
		if _, ok := obj.(*pyDict); !ok {
			return false, fmt.Errorf("sets the state of %s (state %s); only a dict's is expected", pyType(obj), pyType(state))
		}
	case 'Q': // BINPERSID
		if u.persistentLoad == nil {
			return false, errors.New("persistent id in a pickle that may not have one")
		}
		pid, err := u.pop()
		if err != nil {
			return false, err
		}
		v, err := u.persistentLoad(pid)
		if err != nil {
			return false, err
		}
		u.push(v)

	default:
		if opName(op) == "" {
			return false, errors.New("unknown opcode")
		}
		return false, errors.New("not used by torch.save state dicts")
	}
	return false, nil
}

// long pushes the n-byte little-endian two's-complement integer that follows.
func (u *unpickler) long(n uint64) error {
	if n > maxLongBytes {
		return fmt.Errorf("integer of %d bytes, at most %d expected", n, maxLongBytes)
	}
	b, err := u.in.take(n)
	if err != nil {
		return err
	}
	if n <= 8 {
		var v int64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | int64(b[i])
		}
		if n > 0 && n < 8 && b[n-1]&0x80 != 0 {
			v -= 1 << (8 * n) // sign-extend
		}
		u.push(int(v))
		return nil
	}
	slices.Reverse(b)
	v := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	u.push(v)
	return nil
}

// decimal pushes the value of an INT or LONG text argument.
func (u *unpickler) decimal(op byte, s string) error {
	if op == 'I' && (s == "00" || s == "01") {
		u.push(s == "01")
		return nil
	}
	digits := strings.TrimSuffix(s, "L")
	if len(digits) > 3*maxLongBytes {
		return fmt.Errorf("integer of %d digits, at most %d expected", len(digits), 3*maxLongBytes)
	}
	if v, err := strconv.ParseInt(digits, 10, 64); err == nil {
		u.push(int(v))
		return nil
	}
	v, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return fmt.Errorf("%q is not an integer", s)
	}
	u.push(v)
	return nil
}

// text pushes the n bytes that follow as the opcode's type: str or bytes.
func (u *unpickler) text(op byte, n uint64) error {
	b, err := u.in.take(n)
	if err != nil {
		return err
	}
	switch op {
	case 'B', 'C', 0x8e, 0x96:
		u.push(b)
	default:
		u.push(string(b))
	}
	return nil
}

func (u *unpickler) resolve(module, name string) error {
	v, err := u.global(module, name)
	if err != nil {
		return err
	}
	u.push(v)
	return nil
}

// setItems adds key, value pairs, as SETITEMS does.
func (d *pyDict) setItems(items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("%d items for a dict: a key without a value", len(items))
	}
	d.entries = grow(d.entries, len(items)/2)
	for i := 0; i < len(items); i += 2 {
		d.entries = append(d.entries, pyEntry{items[i], items[i+1]})
	}
	return nil
}

// pyType names a value's type for an error message, without printing the value, which a
// hostile pickle may make as large as itself.
func pyType(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "a bool"
	case int, *big.Int:
		return "an int"
	case float64:
		return "a float"
	case string:
		return "a str"
	case []byte:
		return "bytes"
	case pyTuple:
		return fmt.Sprintf("a %d-tuple", len(v))
	case *pyList:
		return "a list"
	case *pyDict:
		return "a dict"
	case *pyCallable:
		return v.name
	}
	return fmt.Sprintf("%T", v)
}

// opName is pickletools' name of an opcode; "" for bytes that are no opcode.
func opName(op byte) string {
	return opNames[op]
}

var opNames = [256]string{
	'(': "MARK", '.': "STOP", '0': "POP", '1': "POP_MARK", '2': "DUP", 'F': "FLOAT", 'I': "INT",
	'J': "BININT", 'K': "BININT1", 'L': "LONG", 'M': "BININT2", 'N': "NONE", 'P': "PERSID",
	'Q': "BINPERSID", 'R': "REDUCE", 'S': "STRING", 'T': "BINSTRING", 'U': "SHORT_BINSTRING",
	'V': "UNICODE", 'X': "BINUNICODE", 'a': "APPEND", 'b': "BUILD", 'c': "GLOBAL", 'd': "DICT",
	'}': "EMPTY_DICT", 'e': "APPENDS", 'g': "GET", 'h': "BINGET", 'i': "INST", 'j': "LONG_BINGET",
	'l': "LIST", ']': "EMPTY_LIST", 'o': "OBJ", 'p': "PUT", 'q': "BINPUT", 'r': "LONG_BINPUT",
	's': "SETITEM", 't': "TUPLE", ')': "EMPTY_TUPLE", 'u': "SETITEMS", 'G': "BINFLOAT",
	0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1",
	0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4",
	'B': "BINBYTES", 'C': "SHORT_BINBYTES", 0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8",
	0x8e: "BINBYTES8", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
	0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
	0x98: "READONLY_BUFFER",
}
